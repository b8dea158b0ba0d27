package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

// Building twice gives the same digest, so a second run pushes nothing.
func TestImagesReproducibleAndPushedOnce(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs busybox-static")
	}
	reg := testutil.StartRegistry(t)
	list := filepath.Join(t.TempDir(), "list")
	body := "busybox " + reg.Host + "/e2e/busybox:1.37.0-2\nnonroot " + reg.Host + "/e2e/nonroot:1.5\n"
	if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	refs, err := readList(list)
	if err != nil {
		t.Fatal(err)
	}
	in := inputs{Busybox: "/bin/busybox"}
	for round, want := range []string{" pushed", " present"} {
		for _, r := range refs {
			s, err := builders[r.key](in)
			if err != nil {
				t.Fatal(err)
			}
			state, err := push(context.Background(), s, r, reg.Host)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(state, want) {
				t.Errorf("round %d, %s: %s, want %s", round, r.key, state, want)
			}
		}
	}
}

func TestReadListRejectsBadLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(p, []byte("busybox\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readList(p); err == nil {
		t.Error("a line without a reference was accepted")
	}
}
