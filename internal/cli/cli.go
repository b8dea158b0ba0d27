// Package cli is what dockerlet's command-line front ends share: text made
// safe for a terminal, terminal detection, pull progress lines, the
// --log-level logger and list-valued flags.
package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// NewLogger is the commands' logger: text on stderr at level ("debug",
// "info", "warn" or "error").
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// SplitList splits a comma-separated flag value; "" is none.
func SplitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}
