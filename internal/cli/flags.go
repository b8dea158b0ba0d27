package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// NewFlagSet is the flag set of `dockerlet NAME`: synopsis is what follows
// the command's name on its usage line ("[flags] IMAGE"). Parse it with
// Parse, so that -h/--help prints the usage to stdout (and the caller exits
// 0 on flag.ErrHelp) and a bad flag is returned, not printed.
func NewFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: dockerlet %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args into fs. Help (-h, -help, --help) prints fs's usage to
// stdout and returns flag.ErrHelp; any other error is returned as a
// FlagError for the caller to print once (the flag package would print it and the whole
// usage to stderr as well).
func Parse(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		fs.SetOutput(out)
		return err
	case err != nil:
		return FlagError{err}
	}
	return nil
}

// FlagError is a bad command line (an unknown flag, a bad value): the
// caller says so and exits 2, as for any usage error.
type FlagError struct{ Err error }

func (e FlagError) Error() string { return e.Err.Error() }
func (e FlagError) Unwrap() error { return e.Err }
