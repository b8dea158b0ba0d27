package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text that a container or a manifest controls (probe output in events
// and status messages, reasons, names, commands) reaches the user's
// terminal through describe, get and play's live view. A terminal acts on
// what it is sent: an escape sequence sets the window title or rewrites
// the screen, a carriage return or newline forges a line ("Ready: true").
// SafeText and SafeWriter escape such characters, visibly, as Go's %q
// does. `dockerlet logs` is the container's own output and stays raw, as
// kubectl and docker print it.

// SafeText escapes every control character (newline and tab included),
// bidirectional-override characters and invalid UTF-8: for a one-line
// field.
func SafeText(s string) string { return escapeControls(s, false) }

// SafeLines is SafeText keeping newlines and tabs: for multi-line text and
// tab-separated tables.
func SafeLines(s string) string { return escapeControls(s, true) }

func escapeControls(s string, keepLayout bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r, keepLayout) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, keepLayout):
			switch r {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if r < 0x100 {
					fmt.Fprintf(&b, `\x%02x`, r)
				} else {
					fmt.Fprintf(&b, `\u%04x`, r)
				}
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune, keepLayout bool) bool {
	switch {
	case keepLayout && (r == '\n' || r == '\t'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1 (0x9b is a one-byte CSI)
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi controls
		return true
	}
	return false
}

// SafeWriter escapes what SafeLines escapes in everything written through
// it: the last guard below a command's table of untrusted text. Each Write
// is taken as whole text (fmt and tabwriter write whole strings and cells).
func SafeWriter(w io.Writer) io.Writer { return safeWriter{w} }

type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, SafeLines(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
