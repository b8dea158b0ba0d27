package network

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// SetUp leaves no intent once libcni cached the result; an intent left by
// a crash (no pin, no cache entry) is torn down by GC with its config; the
// temp files of interrupted intent writes go once they are old.
func TestCNIIntent(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	if _, err := f.p.SetUp(ctx, &Pod{ID: "aaaa01", Name: "a", Namespace: "ns"}, f.netns); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.p.intentPath("aaaa01")); !os.IsNotExist(err) {
		t.Errorf("intent kept after a complete ADD: %v", err)
	}
	if err := f.p.TearDown(ctx, &Pod{ID: "aaaa01"}, f.netns); err != nil {
		t.Fatal(err)
	}

	// A crash right after the intent was written.
	list, err := f.p.conf.network()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := f.p.runtimeConf(&Pod{ID: "cccc03", Name: "c", Namespace: "ns"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.writeIntent(list, rt); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(f.p.intentsDir(), ".tmp-1"), filepath.Join(f.p.intentsDir(), ".tmp-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	// The conf dir changed since: DEL must use the intent's config.
	if err := os.WriteFile(filepath.Join(f.conf, "00-other.conflist"), []byte(`{"cniVersion":"1.0.0","name":"othernet","plugins":[{"type":"fakebr"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.calls()
	if err := f.p.GC(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if got := summary(calls); !slices.Equal(got, []string{
		"fakepm DEL netns= if=eth0", "fakebr DEL netns= if=eth0",
	}) {
		t.Fatalf("GC calls = %q, want the intent's config", got)
	}
	if !strings.Contains(calls[0], "K8S_POD_INFRA_CONTAINER_ID=cccc03") {
		t.Errorf("GC tore down the wrong pod: %s", calls[0])
	}
	if _, err := os.Stat(f.p.intentPath("cccc03")); !os.IsNotExist(err) {
		t.Errorf("intent kept after its DEL: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temp file (another server's write in flight) was removed: %v", err)
	}
}
