package localimage

import (
	"archive/tar"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// A hard link must come after the file it links to, whatever the names'
// order ("bin/[" sorts before "bin/busybox"): Docker refuses the layer
// otherwise.
func TestLayerHardLinksAfterTargets(t *testing.T) {
	l := NewLayer()
	l.File("bin/busybox", 0o755, []byte("x"))
	l.Hardlink("bin/[", "bin/busybox")
	l.Hardlink("a", "bin/busybox")
	l.Symlink("agnhost-2", "agnhost")
	seen := map[string]bool{}
	for _, e := range layerEntries(t, l) {
		if e.Typeflag == tar.TypeLink && !seen[e.Linkname] {
			t.Errorf("hard link %s comes before its target %s", e.Name, e.Linkname)
		}
		seen[e.Name] = true
	}
	for _, want := range []string{"bin/", "bin/busybox", "bin/[", "a", "agnhost-2"} {
		if !seen[want] {
			t.Errorf("layer lacks %s", want)
		}
	}
}

// The busybox layer holds the applets as links to busybox, and a later
// add of a path replaces the earlier one (the test and node e2e images put
// their own account files over the default ones).
func TestBusyboxLayerReplaces(t *testing.T) {
	requireBusybox(t)
	l, err := BusyboxLayer("")
	if err != nil {
		t.Fatal(err)
	}
	l.Text("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
	got := map[string]*tar.Header{}
	var passwd []byte
	for _, e := range layerEntries(t, l) {
		if got[e.Name] != nil {
			t.Errorf("%s twice in the layer", e.Name)
		}
		got[e.Name] = e.Header
		if e.Name == "etc/passwd" {
			passwd = e.body
		}
	}
	if h := got["bin/sh"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
		t.Errorf("bin/sh: %+v, want a hard link to bin/busybox", h)
	}
	if h := got["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/: %+v, want mode 1777", h)
	}
	if string(passwd) != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("etc/passwd = %q, want the replacement", passwd)
	}
}

// A dynamically linked program is refused: it would not run FROM scratch.
func TestBusyboxLayerRefusesDynamic(t *testing.T) {
	sh, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if static, err := IsStatic(sh); err != nil || static {
		t.Skipf("%s: static %v, %v", sh, static, err)
	}
	if _, err := BusyboxLayer(sh); err == nil || !strings.Contains(err.Error(), "not statically linked") {
		t.Fatalf("BusyboxLayer(%s) = %v, want not statically linked", sh, err)
	}
}

// tarEntry is one tar entry: its header and, for a file, its content.
type tarEntry struct {
	*tar.Header
	body []byte
}

// tarEntries reads a tar stream's entries in order.
func tarEntries(t *testing.T, r io.Reader) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{h, body})
	}
}

// layerEntries builds l and reads its entries in order.
func layerEntries(t *testing.T, l *Layer) []tarEntry {
	t.Helper()
	lay, err := l.Build()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := lay.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return tarEntries(t, rc)
}
