package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// NewFlagSet is the flag set of `dockerlet NAME`: synopsis is what follows
// the command's name on its usage line ("[flags] IMAGE"). Parse it with
// Parse, so that -h/--help prints the usage to stdout (and the caller exits
// 0 on flag.ErrHelp) and a bad flag is returned, not printed.
//
// Flags are POSIX-style (--name value, --name=value, -n, combined shorts
// such as -it, -- ending them); Parse still takes the single-dash long
// spellings (-state-dir) the Go flag package took, so that command lines
// and unit files written for it keep working.
func NewFlagSet(name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: dockerlet %s %s\n\nflags:\n%s", name, synopsis, fs.FlagUsages())
	}
	return fs
}

// Parse parses args into fs. Help (-h, -help, --help) prints fs's usage to
// stdout and returns flag.ErrHelp; any other error is returned as a
// FlagError for the caller to print once.
func Parse(fs *pflag.FlagSet, args []string) error {
	if c := capturing(); c != nil {
		c.fs = fs
		return errCaptured
	}
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(normalizeArgs(fs, args))
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		fs.SetOutput(out)
		return flag.ErrHelp
	case err != nil:
		return FlagError{err}
	}
	return nil
}

// normalizeArgs rewrites the spellings the Go flag package accepted and
// pflag reads otherwise: a long flag with one dash (-state-dir,
// -state-dir=x) gets two, a one-letter flag with two dashes (--n) gets
// one, and -help is --help. A flag's value and everything after "--" are
// left as they are.
func normalizeArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var f *pflag.Flag
		switch {
		case !strings.HasPrefix(a, "--") && name == "help":
			a = "--help"
		case !strings.HasPrefix(a, "--") && len(name) > 1:
			if f = fs.Lookup(name); f != nil {
				a = "-" + a
			}
		case strings.HasPrefix(a, "--") && len(name) == 1:
			if f = fs.ShorthandLookup(name); f != nil {
				a = a[1:]
			}
		case strings.HasPrefix(a, "--"):
			f = fs.Lookup(name)
		default:
			f = fs.ShorthandLookup(name)
		}
		out = append(out, a)
		// A value given as the next argument is the flag's, whatever it
		// looks like.
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			out = append(out, args[i+1])
			i++
		}
	}
	return out
}

// FlagError is a bad command line (an unknown flag, a bad value): the
// caller says so and exits 2, as for any usage error.
type FlagError struct{ Err error }

func (e FlagError) Error() string { return e.Err.Error() }
func (e FlagError) Unwrap() error { return e.Err }

// errCaptured ends a command run by CaptureFlags once its flags are known.
var errCaptured = errors.New("flags captured")

type capture struct{ fs *pflag.FlagSet }

var (
	captureMu  sync.Mutex
	captureCur *capture
)

func capturing() *capture {
	captureMu.Lock()
	defer captureMu.Unlock()
	return captureCur
}

// CaptureFlags returns the flag set a command's run function parses,
// without running the command: Parse hands the set over and returns an
// error the run function returns. Completion scripts and the flag
// reference are made from these sets, so they cannot drift from the
// flags themselves. nil when run parses no flags.
func CaptureFlags(run func() error) *pflag.FlagSet {
	captureMu.Lock()
	c := &capture{}
	captureCur = c
	captureMu.Unlock()
	defer func() {
		captureMu.Lock()
		captureCur = nil
		captureMu.Unlock()
	}()
	if err := run(); !errors.Is(err, errCaptured) {
		return nil
	}
	return c.fs
}
