package cli

import "testing"

func TestSafeTextKeepsPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcödé ✓": "plain text, ünïcödé ✓",
		"a\tb\nc":               `a\tb\nc`,
		"bad \xff utf8":         `bad \xff utf8`,
		"rtl \u202e override":   `rtl \u202e override`,
		"\x1b]0;title\x07 tail": `\x1b]0;title\x07 tail`,
	} {
		if got := SafeText(in); got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SafeLines("a\tb\nc\x1b"); got != "a\tb\nc\\x1b" {
		t.Errorf("SafeLines = %q", got)
	}
}
