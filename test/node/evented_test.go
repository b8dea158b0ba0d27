package node

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestEventedPLEG runs a kubelet with the EventedPLEG feature gate: it
// keeps a GetContainerEvents stream open on dockerlet and acts on its
// events (up to 1.36 it builds pod status from them; 1.37 relists a pod at
// once when one of its containers stops, and reads the pod's containers
// from PodSandboxStatus). Pods still start, restart and become Ready, and
// the log stays clean.
func TestEventedPLEG(t *testing.T) {
	n := startNode(t, nodeOptions{Run: "evented", FeatureGates: map[string]bool{"EventedPLEG": true}, Verbosity: 4})
	ready := newPod("dlnode-ev-ready", v1.RestartPolicyAlways, httpd("web", 8083))
	ready.Spec.Containers[0].ReadinessProbe = httpProbe("/", 8083)
	restarting := newPod("dlnode-ev-restart", v1.RestartPolicyAlways, busybox("c", "sleep 1; exit 2"))
	n.addPod(t, ready)
	n.addPod(t, restarting)
	n.waitPod(t, ready.Name, 2*time.Minute, podReady)
	got := n.waitPod(t, restarting.Name, 2*time.Minute, restartedAtLeast("c", 2))
	if term := containerStatus(got, "c").LastTerminationState.Terminated; term == nil || term.ExitCode != 2 {
		t.Errorf("last termination %+v, want exit 2", term)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The kubelet's side: its event stream connected, and a container stop
	// from dockerlet's events made it relist the pod.
	km := string(must(n.get(ctx, "/metrics")).get(t))
	if v, ok := metricValue(km, "kubelet_evented_pleg_connection_success_count"); !ok || v < 1 {
		t.Errorf("kubelet_evented_pleg_connection_success_count = %v (found %v), want >= 1", v, ok)
	}
	if v, _ := metricValue(km, "kubelet_evented_pleg_connection_error_count"); v > 0 {
		t.Errorf("kubelet_evented_pleg_connection_error_count = %v: the event stream broke", v)
	}
	// Kubelets up to 1.36 build pod status from the events themselves; 1.37
	// relists a pod at once when one of its containers stops.
	log, _ := os.ReadFile(n.KubeletLog)
	if !strings.Contains(string(log), "Evented PLEG: requested pod relist after container termination") &&
		!strings.Contains(string(log), "Evented PLEG: Generated pod status from the received event") {
		t.Errorf("kubelet log %s: no container event acted on", n.KubeletLog)
	}
	if strings.Contains(string(log), "Fall back to Generic PLEG relisting") {
		t.Errorf("kubelet log %s: the kubelet gave up on the event stream", n.KubeletLog)
	}
	// dockerlet's side: the stream is open now.
	dm := must(n.dockerletMetrics(ctx)).get(t)
	if v, ok := metricValue(dm, `dockerlet_cri_requests_in_flight{method="GetContainerEvents"}`); !ok || v < 1 {
		t.Errorf("dockerlet: GetContainerEvents streams open = %v (found %v), want >= 1", v, ok)
	}
	checkKubeletLog(t, n.KubeletLog)
	checkDockerletCodes(t, n)
}
