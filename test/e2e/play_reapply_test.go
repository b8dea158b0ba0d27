package e2e

import (
	"strings"
	"testing"
)

// TestPlayReapply: playing a changed file keeps unchanged pods, replaces
// changed ones and removes the ones that left the file.
func TestPlayReapply(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("app.yaml", strings.Join([]string{
		idlePod("dltplay-keep", "echo keep"), idlePod("dltplay-change", "echo v1"), idlePod("dltplay-gone", "echo gone"),
	}, "---\n"))
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	v1 := p.pods()
	p.manifest("app.yaml", strings.Join([]string{
		idlePod("dltplay-keep", "echo keep"), idlePod("dltplay-change", "echo v2"), idlePod("dltplay-new", "echo new"),
	}, "---\n"))
	p.mustRun("play", "--wait", "--timeout", "60s", file)
	v2 := p.pods()
	if v2["dltplay-keep"].UID != v1["dltplay-keep"].UID || v2["dltplay-keep"].Containers[0].ID != v1["dltplay-keep"].Containers[0].ID {
		t.Error("the unchanged pod was replaced")
	}
	if v2["dltplay-change"].UID == v1["dltplay-change"].UID {
		t.Error("the changed pod kept its uid")
	}
	if left := p.containersOf(v1["dltplay-change"].UID); len(left) != 0 {
		t.Errorf("the changed pod's old containers remain: %v", left)
	}
	if _, ok := v2["dltplay-gone"]; ok {
		t.Error("the removed pod is still listed")
	}
	if left := p.containersOf(v1["dltplay-gone"].UID); len(left) != 0 {
		t.Errorf("the removed pod's containers remain: %v", left)
	}
	if !v2["dltplay-new"].Ready || !v2["dltplay-change"].Ready {
		t.Errorf("new pods not ready: %+v", v2)
	}
	if logs := p.mustRun("logs", "-n", "dltplay", "dltplay-change"); !strings.Contains(logs, "v2") {
		t.Errorf("changed pod's logs: %q", logs)
	}
}
