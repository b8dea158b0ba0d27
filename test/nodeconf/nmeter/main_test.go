package main

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	now := time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC)
	for _, c := range []struct {
		args  []string
		want  string
		delay time.Duration
	}{
		{[]string{"-d0", "%3t"}, "03:04:05.123", 0},
		{[]string{"-d", "250", "at %t %%"}, "at 03:04:05 %", 250 * time.Millisecond},
		{[]string{"%6t"}, "03:04:05.123456", time.Second},
	} {
		d, f, err := parseArgs(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := expand(f, now); got != c.want || d != c.delay {
			t.Errorf("%q: %q every %v, want %q every %v", c.args, got, d, c.want, c.delay)
		}
	}
}

func TestFormatRejectsWhatItCannotShow(t *testing.T) {
	for _, args := range [][]string{{"%c"}, {"%7t"}, {"-d"}, {"-dx", "%t"}, {}} {
		if _, _, err := parseArgs(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
