package node

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// TestRestarts restarts the kubelet, then dockerlet, under running pods.
// A restarted kubelet rebuilds its state from the runtime alone (it reads
// back the container hashes and restart counts it stored as annotations);
// a restarted dockerlet hands back the same containers and its log copier
// resumes where it stopped. Nothing is recreated or restarted, and the log
// has every line exactly once.
func TestRestarts(t *testing.T) {
	n := startNode(t, nodeOptions{Run: "restart"})
	web := newPod("dlnode-rs-web", v1.RestartPolicyAlways, httpd("web", 8084))
	web.Spec.Containers[0].ReadinessProbe = httpProbe("/", 8084)
	web.Spec.InitContainers = []v1.Container{busybox("init", "true")}
	counter := newPod("dlnode-rs-count", v1.RestartPolicyAlways,
		busybox("c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done"))
	n.addPod(t, web)
	n.addPod(t, counter)
	for _, p := range []*v1.Pod{web, counter} {
		n.waitPod(t, p.Name, 2*time.Minute, podReady)
	}
	docker := dockerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	before := must(serverContainers(ctx, docker, n.Serve.Root, "")).get(t)
	slices.Sort(before)

	settle := func(what string) {
		t.Helper()
		for _, p := range []*v1.Pod{web, counter} {
			n.waitPod(t, p.Name, 2*time.Minute, podReady)
		}
		// Two sync periods: time for the kubelet to act on anything it
		// thinks is wrong.
		time.Sleep(20 * time.Second)
		for _, p := range []*v1.Pod{web, counter} {
			got := n.waitPod(t, p.Name, time.Minute, podReady)
			for _, cs := range append(got.Status.ContainerStatuses, got.Status.InitContainerStatuses...) {
				if cs.RestartCount != 0 {
					t.Errorf("after the %s restart: %s/%s restarted %d times", what, p.Name, cs.Name, cs.RestartCount)
				}
			}
		}
		after := must(serverContainers(ctx, docker, n.Serve.Root, "")).get(t)
		slices.Sort(after)
		if !slices.Equal(before, after) {
			t.Errorf("after the %s restart the containers changed:\nbefore %v\nafter  %v", what, before, after)
		}
	}

	n.stopKubelet(t)
	if err := n.startKubelet(ctx); err != nil {
		t.Fatal(err)
	}
	settle("kubelet")

	n.Serve.Stop()
	time.Sleep(3 * time.Second) // the pod writes ~30 lines meanwhile
	if err := n.Serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	settle("dockerlet")

	out := must(n.logs(ctx, counter.Name, "c", url.Values{})).get(t)
	if err := contiguousTicks(out); err != nil {
		t.Errorf("counter log across the restarts: %v", err)
	}
	checkLogFor(t, n.KubeletLog, restartErrorPatterns)
	checkDockerletCodes(t, n)
}

// While dockerlet is down the kubelet's calls fail Unavailable and its PLEG
// relist fails: expected. What must never appear is an error the runtime
// did not classify.
var restartErrorPatterns = []*regexp.Regexp{
	regexp.MustCompile(`code = Unknown`),
	regexp.MustCompile(`code = Internal`),
}

// contiguousTicks checks "tick 1" ... "tick N": each once, in order.
func contiguousTicks(log string) error {
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	for i, l := range lines {
		want := "tick " + strconv.Itoa(i+1)
		if l != want {
			return fmt.Errorf("line %d is %q, want %q (%d lines)", i+1, l, want, len(lines))
		}
	}
	if len(lines) < 100 {
		return fmt.Errorf("only %d lines", len(lines))
	}
	return nil
}
