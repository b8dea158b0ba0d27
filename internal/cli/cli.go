// Package cli is what dockerlet's command-line front ends share: text made
// safe for a terminal, terminal detection, pull progress lines, the
// --log-level logger and list-valued flags.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// NewLogger is the commands' logger on stderr at level ("debug", "info",
// "warn" or "error"), as text (key=value) or as JSON, one object a line,
// for log collectors that parse it.
func NewLogger(level, format string) (*slog.Logger, error) {
	return newLogger(os.Stderr, level, format)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	// cri-dockerd's (logrus) level names, so that its command line works.
	switch level {
	case "trace":
		level = "debug"
	case "warning":
		level = "warn"
	case "fatal", "panic":
		level = "error"
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// SplitList splits a comma-separated flag value; "" is none.
func SplitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}
