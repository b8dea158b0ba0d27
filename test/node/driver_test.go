package node

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestNodeOtherCgroupDriver runs a kubelet configured with the cgroup
// driver Docker does not use. A kubelet from 1.31 on takes Docker's from
// RuntimeConfig: its pods run, and its log says which driver it took. An
// older kubelet keeps its own: its first pod must fail at once, its log
// naming the setting to change (dockerlet's FailedPrecondition), instead of
// a pod that never starts without a word.
func TestNodeOtherCgroupDriver(t *testing.T) {
	bin := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docker := dockerCgroupDriver(t, ctx)
	other := "systemd"
	if docker == "systemd" {
		other = "cgroupfs"
	}
	follows := kubeletMinor(t, bin) >= 31
	if !follows && other == "systemd" {
		// It would need systemd as PID 1, which it only finds where
		// Docker uses the systemd driver too.
		t.Skipf("a kubelet before 1.31 keeps cgroupDriver: systemd, and Docker here uses %s", docker)
	}
	n := startNode(t, nodeOptions{Run: "otherdriver", KubeletCgroupDriver: other})
	p := newPod("dlnode-otherdriver", v1.RestartPolicyAlways, busybox("c", "exec sleep 3600"))
	if follows {
		n.addPod(t, p)
		n.waitPod(t, p.Name, 2*time.Minute, podReady)
		checkCgroupDriver(t, n)
		checkKubeletLog(t, n.KubeletLog)
		return
	}
	start := time.Now()
	n.addPod(t, p)
	want := "set cgroupDriver: " + docker + " in the kubelet's configuration"
	for {
		b, err := os.ReadFile(n.KubeletLog)
		if err != nil {
			t.Fatal(err)
		}
		if line := lineWith(string(b), want); line != "" {
			if !strings.Contains(line, "code = FailedPrecondition") {
				t.Errorf("kubelet log: %s; want code = FailedPrecondition", line)
			}
			t.Logf("after %s: %s", time.Since(start).Round(time.Second), line)
			return
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("kubelet log %s lacks %q 2m after the pod was added:\n%s", n.KubeletLog, want, tailFile(n.KubeletLog, 40))
		}
		time.Sleep(time.Second)
	}
}

// lineWith returns the first line of log that contains s.
func lineWith(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
