package naming

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLogLink(t *testing.T) {
	id := strings.Repeat("a", 64)
	tests := []struct {
		name         string
		pod, ns, ctr string
		wantBase     string
	}{
		{"short", "web", "default", "app", "web_default_app-" + id + ".log"},
		{"exactly 255 bytes kept whole", strings.Repeat("p", 255-len("_n_c-"+id+".log")), "n", "c",
			strings.Repeat("p", 255-len("_n_c-"+id+".log")) + "_n_c-" + id + ".log"},
		{"one byte over is cut", strings.Repeat("p", 256-len("_n_c-"+id+".log")), "n", "c",
			(strings.Repeat("p", 256-len("_n_c-"+id+".log")) + "_n_c-" + id)[:251] + ".log"},
		{"very long pod", strings.Repeat("p", 253), "default", "app", strings.Repeat("p", 251) + ".log"},
		// 250 ASCII bytes then 'é' (2 bytes) straddling the cut at 251.
		{"multi-byte rune not split", strings.Repeat("p", 250) + "é", "n", "c", strings.Repeat("p", 250) + ".log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LogLink("/var/log/containers", tt.pod, tt.ns, tt.ctr, id)
			if dir := filepath.Dir(got); dir != "/var/log/containers" {
				t.Errorf("dir = %q", dir)
			}
			base := filepath.Base(got)
			if base != tt.wantBase {
				t.Errorf("base = %q (%d bytes), want %q (%d bytes)", base, len(base), tt.wantBase, len(tt.wantBase))
			}
			if len(base) > 255 {
				t.Errorf("base is %d bytes, over ext4's 255", len(base))
			}
			if !utf8.ValidString(base) {
				t.Errorf("base %q is not valid UTF-8", base)
			}
			if !strings.HasSuffix(base, ".log") {
				t.Errorf("base %q lost its .log suffix", base)
			}
		})
	}
}
