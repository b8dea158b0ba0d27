// Command nmeter stands in for busybox's nmeter applet, which the busybox
// image has and Debian's busybox-static lacks. The node e2e suite uses it
// as a clock with sub-second digits:
//
//	date -u +%FT$(nmeter -d0 '%3t' | head -n1)Z
//
// It supports what that needs: -d MSEC (delay between lines; 0 none) and a
// format of text with %t (time of day, HH:MM:SS) or %Nt (N digits of the
// second's fraction, 1 to 6) and %%. It prints a line per update until its
// output is closed.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	delay, format, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nmeter:", err)
		os.Stderr.WriteString("usage: nmeter [-d MSEC] FORMAT (only %t, %Nt and %% are supported)\n")
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		if _, err := w.WriteString(expand(format, time.Now()) + "\n"); err != nil {
			os.Exit(1)
		}
		if err := w.Flush(); err != nil {
			os.Exit(0) // the reader is gone (head -n1)
		}
		if delay > 0 {
			time.Sleep(delay)
		}
	}
}

type piece struct {
	text   string
	time   bool
	digits int
}

func parseArgs(args []string) (time.Duration, []piece, error) {
	delay := time.Second
	for len(args) > 0 && strings.HasPrefix(args[0], "-d") {
		v := strings.TrimPrefix(args[0], "-d")
		args = args[1:]
		if v == "" {
			if len(args) == 0 {
				return 0, nil, errors.New("-d needs a value")
			}
			v, args = args[0], args[1:]
		}
		ms, err := strconv.Atoi(v)
		if err != nil {
			return 0, nil, fmt.Errorf("-d %q: %w", v, err)
		}
		delay = time.Duration(max(ms, 0)) * time.Millisecond
	}
	if len(args) != 1 {
		return 0, nil, errors.New("want one FORMAT argument")
	}
	f, err := parseFormat(args[0])
	return delay, f, err
}

func parseFormat(s string) ([]piece, error) {
	var out []piece
	for s != "" {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			out = append(out, piece{text: s})
			break
		}
		if i > 0 {
			out = append(out, piece{text: s[:i]})
		}
		s = s[i+1:]
		switch {
		case strings.HasPrefix(s, "%"):
			out = append(out, piece{text: "%"})
			s = s[1:]
		case strings.HasPrefix(s, "t"):
			out = append(out, piece{time: true})
			s = s[1:]
		case len(s) >= 2 && s[0] >= '1' && s[0] <= '6' && s[1] == 't':
			out = append(out, piece{time: true, digits: int(s[0] - '0')})
			s = s[2:]
		default:
			return nil, fmt.Errorf("unsupported format at %%%.10s", s)
		}
	}
	return out, nil
}

func expand(f []piece, now time.Time) string {
	var b strings.Builder
	for _, p := range f {
		if !p.time {
			b.WriteString(p.text)
			continue
		}
		b.WriteString(now.Format("15:04:05"))
		if p.digits > 0 {
			frac := fmt.Sprintf("%06d", now.Nanosecond()/1000)
			b.WriteString("." + frac[:p.digits])
		}
	}
	return b.String()
}
