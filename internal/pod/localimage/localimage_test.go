package localimage

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultBusyboxPath); err != nil {
		t.Skipf("no %s (apt-get install busybox-static)", DefaultBusyboxPath)
	}
}

func TestImageReproducible(t *testing.T) {
	requireBusybox(t)
	a, err := Image("", Busybox)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Image("", Busybox)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s %s", da, db)
	}
	p, err := Image("", Pause)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := p.ConfigFile()
	if !strings.Contains(strings.Join(cf.Config.Cmd, " "), "trap") {
		t.Fatalf("pause cmd: %v", cf.Config.Cmd)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Busybox, a); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range tarEntries(t, &buf) {
		if e.Name == "manifest.json" {
			found = strings.Contains(string(e.body), Busybox)
		}
	}
	if !found {
		t.Fatal("manifest.json missing or without the tag")
	}
}

type recordingLoader struct{ n int }

func (l *recordingLoader) LoadImage(_ context.Context, r io.Reader) error {
	l.n++
	_, err := io.Copy(io.Discard, r)
	return err
}

func TestEnsure(t *testing.T) {
	requireBusybox(t)
	present := map[string]bool{}
	l := &recordingLoader{}
	b := &Builder{Loader: l, Present: func(_ context.Context, ref string) (bool, error) { return present[ref], nil }}
	if handled, err := b.Ensure(context.Background(), "busybox:latest"); handled || err != nil {
		t.Fatalf("foreign image handled: %v %v", handled, err)
	}
	if handled, err := b.Ensure(context.Background(), "dockerlet.local/busybox"); !handled || err != nil || l.n != 1 {
		t.Fatalf("build: %v %v loads=%d", handled, err, l.n)
	}
	present[Busybox] = true
	if _, err := b.Ensure(context.Background(), Busybox); err != nil || l.n != 1 {
		t.Fatalf("present image rebuilt: %v loads=%d", err, l.n)
	}
}
