package node

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// `kubectl logs` reads through the kubelet: everything (both streams),
// --tail, --timestamps and --limit-bytes.
func testLogs(t *testing.T, n *Node) {
	p := newPod("dlnode-logs", v1.RestartPolicyAlways,
		busybox("c", "echo err-line >&2; sleep 0.5; i=1; while [ $i -le 10 ]; do echo line $i; i=$((i+1)); done; exec sleep 3600"))
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	all := waitLogs(t, n, ctx, p.Name, "c", url.Values{}, "line 10\n")
	want := "err-line\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n"
	if all != want {
		t.Errorf("all logs: %q, want %q", all, want)
	}
	tail := must(n.logs(ctx, p.Name, "c", url.Values{"tailLines": {"2"}})).get(t)
	if tail != "line 9\nline 10\n" {
		t.Errorf("tailLines=2: %q", tail)
	}
	stamped := must(n.logs(ctx, p.Name, "c", url.Values{"tailLines": {"1"}, "timestamps": {"true"}})).get(t)
	ts, rest, ok := strings.Cut(strings.TrimSuffix(stamped, "\n"), " ")
	if !ok || rest != "line 10" {
		t.Fatalf("timestamps=true tailLines=1: %q", stamped)
	}
	when, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || time.Since(when) > 10*time.Minute || time.Until(when) > time.Minute {
		t.Errorf("timestamp %q: %v (parsed %v)", ts, err, when)
	}
	limited := must(n.logs(ctx, p.Name, "c", url.Values{"limitBytes": {"5"}})).get(t)
	if limited != "err-l" {
		t.Errorf("limitBytes=5: %q", limited)
	}
	// sinceTime after the last line: nothing.
	since := must(n.logs(ctx, p.Name, "c", url.Values{"sinceTime": {when.Add(time.Second).Format(time.RFC3339)}})).get(t)
	if since != "" {
		t.Errorf("sinceTime after the last line: %q", since)
	}
}

// previous=true reads the last terminated instance of a container.
func testPreviousLogs(t *testing.T, n *Node) {
	p := newPod("dlnode-previous", v1.RestartPolicyAlways,
		busybox("c", `n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; echo instance $n; if [ $n -ge 2 ]; then exec sleep 3600; fi; exit 1`))
	p.Spec.Volumes = []v1.Volume{{Name: "state", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "state", MountPath: "/state"}}
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, func(p *v1.Pod) error {
		if err := restartedAtLeast("c", 1)(p); err != nil {
			return err
		}
		return podReady(p)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cur := waitLogs(t, n, ctx, p.Name, "c", url.Values{}, "instance")
	if cur != "instance 2\n" {
		t.Errorf("current logs: %q, want instance 2", cur)
	}
	prev := must(n.logs(ctx, p.Name, "c", url.Values{"previous": {"true"}})).get(t)
	if prev != "instance 1\n" {
		t.Errorf("previous=true: %q, want instance 1", prev)
	}
}
