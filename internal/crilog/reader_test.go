package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

const sample = "" +
	"2026-11-26T20:00:01.000000000Z stdout F one\n" +
	"2026-11-26T20:00:02.000000000Z stderr F err-one\n" +
	"2026-11-26T20:00:03.000000000Z stdout P lo\n" +
	"2026-11-26T20:00:03.000000000Z stdout F ng\n" +
	"garbage line\n" +
	"2026-11-26T20:00:04.000000000Z stdout F last\n"

func TestReadLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	writeFile(t, path, sample)
	tests := []struct {
		name    string
		opts    ReadOptions
		wantOut string
		wantErr string
	}{
		{"all", ReadOptions{Tail: AllLines}, "one\nlong\nlast\n", "err-one\n"},
		{"tail 1", ReadOptions{Tail: 1}, "last\n", ""},
		{"tail 3 counts records", ReadOptions{Tail: 3}, "ng\nlast\n", ""},
		{"tail 0", ReadOptions{Tail: 0}, "", ""},
		{"tail beyond", ReadOptions{Tail: 100}, "one\nlong\nlast\n", "err-one\n"},
		{"since", ReadOptions{Tail: AllLines, Since: time.Date(2026, 11, 26, 20, 0, 2, 500, time.UTC)}, "long\nlast\n", ""},
		{"timestamps", ReadOptions{Tail: 1, Timestamps: true}, "2026-11-26T20:00:04Z last\n", ""},
		{"limit counts both streams", ReadOptions{Tail: AllLines, LimitBytes: 6}, "one\n", "er"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := ReadLog(context.Background(), path, tt.opts, &out, &errb); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantOut || errb.String() != tt.wantErr {
				t.Errorf("stdout %q stderr %q, want %q %q", out.String(), errb.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestReadLogMissing(t *testing.T) {
	err := ReadLog(context.Background(), filepath.Join(t.TempDir(), "nope"), ReadOptions{Tail: AllLines}, nil, nil)
	if err == nil {
		t.Fatal("no error for a missing file")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReadLogFollowAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	writeFile(t, path, "2026-11-26T20:00:01.000000000Z stdout F a\n")
	ctx, cancel := context.WithCancel(context.Background())
	out := &enginetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- ReadLog(ctx, path, ReadOptions{Tail: AllLines, Follow: true}, out, out) }()
	waitFor(t, "first line", func() bool { return out.String() == "a\n" })

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2026-11-26T20:00:02.000000000Z stdout F b-half") // a write in progress
	time.Sleep(3 * followPoll)
	f.WriteString("-done\n")
	f.Close()
	waitFor(t, "appended line", func() bool { return out.String() == "a\nb-half-done\n" })

	// Rotation: rename, then a new file at path.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "2026-11-26T20:00:03.000000000Z stderr F c\n")
	waitFor(t, "line from the new file", func() bool { return strings.HasSuffix(out.String(), "c\n") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "a\nb-half-done\nc\n" {
		t.Errorf("followed %q", got)
	}
}
