package network

import (
	"context"
	"os"
	"slices"
	"testing"
)

// A pod's status reads its addresses from memory once they are known (at
// SetUp, or the first read after a restart): libcni's cache file is not
// read again; TearDown forgets them.
func TestCNIIPsRemembered(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	pod := &Pod{ID: "0123abcd", Name: "web", Namespace: "ns", UID: "u-1"}
	if _, err := f.p.SetUp(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	want := []string{"10.99.0.7", "fd99::7"}
	p2 := f.restart() // a restarted server: an empty memo
	if ips, err := p2.IPs(ctx, pod, nil); err != nil || !slices.Equal(ips, want) {
		t.Fatalf("IPs after restart = %v, %v", ips, err)
	}
	// Hide the cache: both servers answer from memory now.
	results := f.p.resultsDir()
	if err := os.Rename(results, results+".away"); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*cniPlugin{"set-up": f.p, "restarted": p2} {
		if ips, err := p.IPs(ctx, pod, nil); err != nil || !slices.Equal(ips, want) {
			t.Errorf("%s server: IPs without the cache file = %v, %v; want %v from memory", name, ips, err, want)
		}
	}
	// A caller may not change what is remembered.
	ips, _ := f.p.IPs(ctx, pod, nil)
	ips[0] = "changed"
	if again, _ := f.p.IPs(ctx, pod, nil); !slices.Equal(again, want) {
		t.Errorf("IPs after a caller changed its copy = %v", again)
	}
	if err := os.Rename(results+".away", results); err != nil {
		t.Fatal(err)
	}
	f.calls()
	if err := p2.TearDown(ctx, pod, ""); err != nil {
		t.Fatal(err)
	}
	if ips, err := p2.IPs(ctx, pod, nil); err != nil || len(ips) != 0 {
		t.Errorf("IPs after teardown = %v, %v; want none", ips, err)
	}
}
