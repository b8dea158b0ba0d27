package cli

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

// Every spelling a command line or a unit file may use parses the same:
// POSIX ones and those the Go flag package took before.
func TestParseSpellings(t *testing.T) {
	for _, in := range []string{
		"--state-dir /s --timeout 5s -it -n ns pod -- cmd -x",
		"--state-dir=/s --timeout=5s -ti -nns pod -- cmd -x",
		"-state-dir /s -timeout 5s -i -t --n ns pod -- cmd -x",
		"-state-dir=/s -timeout=5s --stdin --tty --namespace=ns pod -- cmd -x",
		"pod -state-dir /s --timeout 5s -i -t -n=ns -- cmd -x",
	} {
		fs := NewFlagSet("t", "")
		dir := fs.String("state-dir", "", "")
		timeout := fs.Duration("timeout", 0, "")
		stdin := fs.BoolP("stdin", "i", false, "")
		tty := fs.BoolP("tty", "t", false, "")
		ns := fs.StringP("namespace", "n", "", "")
		if err := Parse(fs, strings.Fields(in)); err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if *dir != "/s" || *timeout != 5*time.Second || !*stdin || !*tty || *ns != "ns" {
			t.Errorf("%q: state-dir %q timeout %v stdin %v tty %v namespace %q", in, *dir, *timeout, *stdin, *tty, *ns)
		}
		if got := strings.Join(fs.Args(), " "); got != "pod cmd -x" {
			t.Errorf("%q: arguments %q", in, got)
		}
	}
}

// A value is the flag's even when it looks like a flag.
func TestParseValueLikeFlag(t *testing.T) {
	fs := NewFlagSet("t", "")
	name := fs.String("name", "", "")
	if err := Parse(fs, []string{"-name", "-state-dir", "x"}); err != nil || *name != "-state-dir" || fs.Arg(0) != "x" {
		t.Fatalf("name %q args %q err %v", *name, fs.Args(), err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"--bogus", "-bogus", "-x", "--timeout nope"} {
		fs := NewFlagSet("t", "")
		fs.Duration("timeout", 0, "")
		err := Parse(fs, strings.Fields(in))
		var fe FlagError
		if !errors.As(err, &fe) {
			t.Errorf("%q: %v, want a FlagError", in, err)
		}
	}
	for _, in := range []string{"-h", "--help", "-help"} {
		fs := NewFlagSet("t", "")
		if err := Parse(fs, []string{in}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: %v, want flag.ErrHelp", in, err)
		}
	}
}

func TestCaptureFlags(t *testing.T) {
	ran := false
	fs := CaptureFlags(func() error {
		fs := NewFlagSet("t", "")
		fs.String("state-dir", "", "")
		if err := Parse(fs, nil); err != nil {
			return err
		}
		ran = true
		return nil
	})
	if fs == nil || fs.Lookup("state-dir") == nil || ran {
		t.Fatalf("captured %v, command ran: %v", fs, ran)
	}
	if CaptureFlags(func() error { return nil }) != nil {
		t.Error("a command without flags captured a set")
	}
}
