package netns

import (
	"errors"
	"os"
	"testing"
)

func TestDoRunsFnAndReturnsItsError(t *testing.T) {
	want := errors.New("from fn")
	ran := false
	err := Do("/proc/self/ns/net", func() error { ran = true; return want })
	if os.Geteuid() != 0 {
		// setns needs CAP_SYS_ADMIN: an unprivileged run fails to enter.
		if err == nil {
			t.Fatal("setns succeeded without root")
		}
		t.Skip("entering a network namespace needs root")
	}
	if !ran || !errors.Is(err, want) {
		t.Fatalf("ran=%v err=%v, want fn run and its error", ran, err)
	}
}

func TestDoMissingNamespace(t *testing.T) {
	err := Do("/nonexistent/ns/net", func() error { t.Fatal("fn ran"); return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}
