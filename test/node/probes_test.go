package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// An exec readiness probe follows a file the test creates and removes
// through the kubelet's /run; the container is never restarted.
func testReadinessExec(t *testing.T, n *Node) {
	c := busybox("c", "exec sleep 3600")
	c.ReadinessProbe = execProbe("test", "-f", "/tmp/ready")
	p := newPod("dlnode-readiness", v1.RestartPolicyAlways, c)
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, func(p *v1.Pod) error {
		cs := containerStatus(p, "c")
		if cs == nil || cs.State.Running == nil {
			return fmt.Errorf("container not running")
		}
		return podNotReady(p)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(n.run(ctx, p.Name, "c", "touch /tmp/ready")).get(t)
	n.waitPod(t, p.Name, time.Minute, podReady)
	must(n.run(ctx, p.Name, "c", "rm /tmp/ready")).get(t)
	got := n.waitPod(t, p.Name, time.Minute, podNotReady)
	if cs := containerStatus(got, "c"); cs.RestartCount != 0 || cs.Ready {
		t.Errorf("after readiness failure: restarts %d ready %v, want 0 and false", cs.RestartCount, cs.Ready)
	}
}

// An HTTP liveness probe that starts failing restarts the container; a TCP
// readiness probe on the same port makes it Ready again afterwards.
func testLivenessHTTP(t *testing.T, n *Node) {
	c := httpd("web", 8081)
	c.LivenessProbe = httpProbe("/healthz", 8081)
	c.LivenessProbe.FailureThreshold = 3
	c.ReadinessProbe = tcpProbe(8081)
	p := newPod("dlnode-liveness", v1.RestartPolicyAlways, c)
	n.addPod(t, p)
	got := n.waitPod(t, p.Name, 2*time.Minute, podReady)
	if cs := containerStatus(got, "web"); cs.RestartCount != 0 {
		t.Fatalf("restarted %d times before the probe was broken", cs.RestartCount)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(n.run(ctx, p.Name, "web", "rm /www/healthz")).get(t)
	got = n.waitPod(t, p.Name, 2*time.Minute, func(p *v1.Pod) error {
		if err := restartedAtLeast("web", 1)(p); err != nil {
			return err
		}
		return podReady(p)
	})
	cs := containerStatus(got, "web")
	if term := cs.LastTerminationState.Terminated; term == nil {
		t.Errorf("no last termination state after the liveness restart: %+v", cs)
	}
}

// A startup probe holds liveness off until it succeeds; one that never
// succeeds gets the container restarted.
func testStartupProbe(t *testing.T, n *Node) {
	slow := busybox("c", "sleep 4; touch /tmp/started; exec sleep 3600")
	slow.StartupProbe = execProbe("test", "-f", "/tmp/started")
	slow.StartupProbe.FailureThreshold = 60
	slow.LivenessProbe = execProbe("test", "-f", "/tmp/started")
	ok := newPod("dlnode-startup-ok", v1.RestartPolicyAlways, slow)

	never := busybox("c", "exec sleep 3600")
	never.StartupProbe = execProbe("test", "-f", "/tmp/never")
	never.StartupProbe.FailureThreshold = 2
	bad := newPod("dlnode-startup-bad", v1.RestartPolicyAlways, never)

	n.addPod(t, ok)
	n.addPod(t, bad)
	got := n.waitPod(t, ok.Name, 2*time.Minute, podReady)
	if cs := containerStatus(got, "c"); cs.RestartCount != 0 || cs.Started == nil || !*cs.Started {
		t.Errorf("slow starter: restarts %d started %v, want 0 and true", cs.RestartCount, cs.Started)
	}
	got = n.waitPod(t, bad.Name, 2*time.Minute, restartedAtLeast("c", 1))
	if cs := containerStatus(got, "c"); cs.Started != nil && *cs.Started {
		t.Errorf("never-starting container reported started")
	}
	if condition(got, v1.PodReady) {
		t.Errorf("pod with a failing startup probe is Ready")
	}
}
