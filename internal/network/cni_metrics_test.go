package network

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// recordedOps records what CNIMetrics is told.
type recordedOps struct {
	mu  sync.Mutex
	ops []string
}

func (r *recordedOps) CNIOperation(op string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "error"
	}
	if d <= 0 {
		result += " (no duration)"
	}
	r.ops = append(r.ops, op+" "+result)
}

func (r *recordedOps) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

// Every ADD and DEL of the pod's network list is reported once, with its
// result (lo is set up in-process: no CNI operation).
func TestCNIMetrics(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	rec := &recordedOps{}
	f.p.metrics = rec

	pod := &Pod{ID: "0123abcd", Name: "web", Namespace: "ns", UID: "u-1"}
	if _, err := f.p.SetUp(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"add ok"}; !slices.Equal(got, want) {
		t.Errorf("set up: %q, want %q", got, want)
	}
	if err := f.p.TearDown(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.take(), []string{"del ok"}; !slices.Equal(got, want) {
		t.Errorf("tear down: %q, want %q", got, want)
	}

	// A failed ADD is an error, and its rollback's DEL is reported too.
	if _, err := f.p.SetUp(ctx, &Pod{ID: "feed01", Name: "fail", Namespace: "ns"}, f.netns); err == nil {
		t.Fatal("SetUp of the failing pod succeeded")
	}
	if got := rec.take(); len(got) < 2 || got[0] != "add error" || !slices.Contains(got[1:], "del ok") {
		t.Errorf("failed set up: %q, want add error, then the rollback's dels", got)
	}
	// The plugin made from the configuration carries the metrics.
	p, err := newCNI(Config{Plugin: PluginCNI, CNIBinDirs: []string{f.bin}, CNIConfDir: f.conf, CNICacheDir: f.cache, CNINetNSDir: f.pins, Logger: discardLogger(), CNIMetrics: rec})
	if err != nil || p.metrics != rec || p.forPod(&Pod{ID: "x", CNICacheDir: t.TempDir()}).metrics != rec {
		t.Errorf("metrics not carried: %v", err)
	}
}
