package main

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

func TestVersion(t *testing.T) {
	var b strings.Builder
	printOwnVersion(&b)
	f := fake.New()
	f.SetVersion(engine.Version{Version: "20.10.24", APIVersion: "1.41", ServerAPI: "1.43", MinAPIVersion: "1.12", Os: "linux", Arch: "amd64"})
	if err := printEngineVersion(context.Background(), &b, f); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{"dockerlet: " + version, "engine:", "20.10.24", "API 1.41 negotiated", "server API 1.43"} {
		if !strings.Contains(out, s) {
			t.Errorf("version output lacks %q:\n%s", s, out)
		}
	}
	f.InjectError("Version", errdefs.ErrUnavailable)
	if err := printEngineVersion(context.Background(), &b, f); !errdefs.IsUnavailable(err) {
		t.Errorf("unreachable engine: err = %v", err)
	}
}
