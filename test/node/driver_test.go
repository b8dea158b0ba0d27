package node

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fromCRILine is what a kubelet logs at start when it took the cgroup
// driver from RuntimeConfig.
const fromCRILine = "Using cgroup driver setting received from the CRI runtime"

// TestNodeOtherCgroupDriver runs a kubelet configured with the cgroup
// driver Docker does not use. A kubelet that asks RuntimeConfig (1.31 on,
// unless KubeletCgroupDriverFromCRI is off: NODE_FEATURE_GATES) takes
// Docker's: its pods run, and its log says which driver it took. One that
// keeps its own must see its first pod fail at once, its log naming the
// setting to change (dockerlet's FailedPrecondition), instead of a pod that
// never starts without a word.
func TestNodeOtherCgroupDriver(t *testing.T) {
	bin := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docker := dockerCgroupDriver(t, ctx)
	other := "systemd"
	if docker == "systemd" {
		other = "cgroupfs"
	}
	follows := (&Node{KubeletMinor: kubeletMinor(t, bin), FeatureGates: featureGates(t, nil)}).takesCgroupDriverFromCRI()
	if !follows && other == "systemd" && !systemdBooted() {
		// Its cgroup manager refuses to start without systemd ("systemd
		// not running on this host"), before any pod: the mismatch is run
		// the other way round, in the systemd test node.
		t.Skipf("a kubelet that keeps cgroupDriver: systemd needs systemd as PID 1, and Docker here uses %s: run it with NODE_CGROUP_DRIVER=systemd", docker)
	}
	n := startNode(t, nodeOptions{Run: "otherdriver", KubeletCgroupDriver: other})
	// The kubelet asks RuntimeConfig before it serves: its log already
	// says which branch it took.
	b, err := os.ReadFile(n.KubeletLog)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Contains(string(b), fromCRILine); got != follows {
		t.Fatalf("kubelet 1.%d, gates %v: takes the cgroup driver from the CRI = %v (its log has %q), want %v",
			n.KubeletMinor, n.FeatureGates, got, fromCRILine, follows)
	}
	p := newPod("dlnode-otherdriver", v1.RestartPolicyAlways, busybox("c", "exec sleep 3600"))
	if follows {
		n.addPod(t, p)
		n.waitPod(t, p.Name, 2*time.Minute, podReady)
		checkCgroupDriver(t, n)
		checkKubeletLog(t, n.KubeletLog)
		return
	}
	t.Logf("kubelet 1.%d keeps cgroupDriver: %s (gates %v); Docker uses %s", n.KubeletMinor, other, n.FeatureGates, docker)
	testDriverMismatch(t, n, p, docker)
}

// testDriverMismatch checks the pod of a kubelet whose cgroup driver is not
// Docker's: every RunPodSandbox fails at once with FailedPrecondition
// naming the setting to change, nothing is left in Docker, and the kubelet
// and dockerlet go on serving.
func testDriverMismatch(t *testing.T, n *Node, p *v1.Pod, docker string) {
	want := "set cgroupDriver: " + docker + " in the kubelet's configuration"
	what := "is a cgroupfs path, but Docker uses the systemd cgroup driver"
	if docker == "cgroupfs" {
		what = "is a systemd slice, but Docker uses the cgroupfs cgroup driver"
	}
	start := time.Now()
	n.addPod(t, p)
	// The first refusal, and the kubelet's retry (its pod worker backs off
	// about 10 s): each attempt fails the same way.
	var failed []string
	logged := false
	for len(failed) < 2 {
		b, err := os.ReadFile(n.KubeletLog)
		if err != nil {
			t.Fatal(err)
		}
		failed = linesWith(string(b), "RunPodSandbox from runtime service failed")
		if len(failed) > 0 && !logged {
			logged = true
			t.Logf("first refusal after %s: %s", time.Since(start).Round(time.Second), failed[0])
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("%d failed RunPodSandbox 2m after the pod was added, want 2; kubelet log %s:\n%s", len(failed), n.KubeletLog, tailFile(n.KubeletLog, 40))
		}
		time.Sleep(time.Second)
	}
	for _, line := range failed {
		for _, s := range []string{"code = FailedPrecondition", what, want} {
			if !strings.Contains(line, s) {
				t.Errorf("kubelet log: %s\nlacks %q", line, s)
			}
		}
	}
	t.Logf("%d refusals in %s", len(failed), time.Since(start).Round(time.Second))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Refused before anything was made: no container, no sandbox.
	if left, err := serverContainers(ctx, dockerClient(t), n.Serve.Root, ""); err != nil || len(left) > 0 {
		t.Errorf("containers after the refusals: %v (%v), want none", left, err)
	}
	conn, err := n.Serve.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if r, err := runtimeapi.NewRuntimeServiceClient(conn).ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil || len(r.Items) > 0 {
		t.Errorf("ListPodSandbox after the refusals: %v (%v), want none", r.GetItems(), err)
	}
	// The kubelet keeps the pod Pending, and it and dockerlet still serve.
	pod := n.waitPod(t, p.Name, 10*time.Second, func(p *v1.Pod) error { return nil })
	if pod.Status.Phase != v1.PodPending {
		t.Errorf("pod phase %s, want Pending", pod.Status.Phase)
	}
	select {
	case <-n.exited:
		t.Fatalf("kubelet exited: %v", n.kubelet.ProcessState)
	default:
	}
	if _, err := do(ctx, http.DefaultClient, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(n.HealthzPort)+"/healthz"); err != nil {
		t.Errorf("kubelet healthz: %v", err)
	}
	m, err := n.dockerletMetrics(ctx)
	if err != nil {
		t.Fatalf("dockerlet metrics: %v", err)
	}
	refused, _ := metricValue(m, `dockerlet_cri_requests_total{code="FailedPrecondition",method="RunPodSandbox"}`)
	ok, _ := metricValue(m, `dockerlet_cri_requests_total{code="OK",method="RunPodSandbox"}`)
	sum, _ := metricValue(m, `dockerlet_cri_request_duration_seconds_sum{method="RunPodSandbox"}`)
	count, _ := metricValue(m, `dockerlet_cri_request_duration_seconds_count{method="RunPodSandbox"}`)
	if refused < 2 || ok != 0 {
		t.Errorf("dockerlet's RunPodSandbox answers: %v FailedPrecondition, %v OK; want 2 or more refused, none OK", refused, ok)
	}
	// At once, not after a pod that never starts: a refusal reads the
	// cached driver and starts nothing.
	if count > 0 {
		mean := time.Duration(sum / count * float64(time.Second))
		t.Logf("RunPodSandbox: %v calls, %s each on average", count, mean.Round(time.Millisecond))
		if mean > 10*time.Second {
			t.Errorf("RunPodSandbox took %s on average to refuse, want well under 10s", mean)
		}
	}
	checkDockerletCodes(t, n)
	// No other runtime error in the kubelet's log: the refusal's lines
	// (the CRI client's, the sandbox's, the pod worker's) carry want.
	b, err := os.ReadFile(n.KubeletLog)
	if err != nil {
		t.Fatal(err)
	}
	var other []string
	for _, line := range runtimeErrors(string(b), runtimeErrorPatterns) {
		if !strings.Contains(line, want) {
			other = append(other, line)
		}
	}
	if len(other) > 0 {
		t.Errorf("kubelet log %s shows %d other runtime error line(s):\n%s", n.KubeletLog, len(other), strings.Join(other[:min(len(other), 30)], "\n"))
	}
}

// systemdBooted reports whether systemd is PID 1 (sd_booted).
func systemdBooted() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// linesWith returns the lines of log that contain s.
func linesWith(log, s string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// Which kubelets the test expects to take Docker's driver, by version and
// gate (the mismatch branch is chosen from this and checked against the
// kubelet's log).
func TestTakesCgroupDriverFromCRI(t *testing.T) {
	for _, tc := range []struct {
		minor int
		gates string
		want  bool
	}{
		{37, "", true},
		{34, "KubeletCgroupDriverFromCRI=false", true}, // locked on
		{33, "", true},
		{33, "KubeletCgroupDriverFromCRI=false", false},
		{31, "EventedPLEG=true, KubeletCgroupDriverFromCRI=false", false},
		{30, "", false},
		{30, "KubeletCgroupDriverFromCRI=true", true},
		{27, "KubeletCgroupDriverFromCRI=true", false}, // no such gate yet
	} {
		t.Setenv(featureGatesEnv, tc.gates)
		n := &Node{KubeletMinor: tc.minor, FeatureGates: featureGates(t, nil)}
		if got := n.takesCgroupDriverFromCRI(); got != tc.want {
			t.Errorf("1.%d %q: %v, want %v", tc.minor, tc.gates, got, tc.want)
		}
	}
	t.Setenv(featureGatesEnv, "KubeletCgroupDriverFromCRI=false")
	if g := featureGates(t, map[string]bool{"KubeletCgroupDriverFromCRI": true}); !g["KubeletCgroupDriverFromCRI"] {
		t.Errorf("a test's own gate lost to %s: %v", featureGatesEnv, g)
	}
}
