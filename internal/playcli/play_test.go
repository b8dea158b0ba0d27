package playcli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// Flags may follow the positional arguments (kubectl's order), in every
// spelling: --flag value, --flag=value, shorts, and the Go flag package's
// single-dash long flags; "--" ends them.
func TestFlagsAnywhere(t *testing.T) {
	for _, tt := range []struct{ in, args string }{
		{"FILE --wait --timeout 5s", "FILE"},
		{"-d -", "-"},
		{"web -c app -- ls -l", "web ls -l"},
		{"pods -n x -A", "pods"},
		{"--state-dir=/s FILE", "FILE"},
		{"-state-dir /s FILE", "FILE"},
		{"-n ns -it pod -- cat", "pod cat"},
		{"--state-dir /s pod", "pod"},
	} {
		fs := cli.NewFlagSet("t", "")
		addPlayFlags(fs)
		fs.Bool("wait", false, "")
		fs.BoolP("daemon", "d", false, "")
		fs.BoolP("stdin", "i", false, "")
		fs.BoolP("tty", "t", false, "")
		fs.BoolP("all-namespaces", "A", false, "")
		fs.StringP("container", "c", "", "")
		fs.StringP("namespace", "n", "", "")
		fs.Duration("timeout", 0, "")
		if err := cli.Parse(fs, strings.Fields(tt.in)); err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := strings.Join(fs.Args(), " "); got != tt.args {
			t.Errorf("%q: arguments %q, want %q", tt.in, got, tt.args)
		}
	}
}

func TestParsePlayFlags(t *testing.T) {
	o, path, err := parsePlayFlags([]string{"x.yaml", "-state-dir", "/s", "--wait"})
	if err != nil || path != "x.yaml" || o.stateDir != "/s" || !o.wait || !o.daemon {
		t.Fatalf("got %+v %q %v", o, path, err)
	}
	if _, _, err := parsePlayFlags([]string{"-d", "--timeout=1s", "-"}); err != nil {
		t.Fatal(err)
	}
}

func testApplied(t *testing.T, store pod.Store, names ...string) *pod.Applied {
	t.Helper()
	a := &pod.Applied{Source: "/x.yaml", SourceID: pod.SourceID("/x.yaml")}
	for _, n := range names {
		a.Pods = append(a.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "default", UID: k8stypes.UID("uid-" + n)}})
	}
	return a
}

func TestWaitReady(t *testing.T) {
	store := pod.Store{Dir: t.TempDir()}
	a := testApplied(t, store, "a", "b")
	write := func(name string, phase corev1.PodPhase, ready bool, cs ...pod.ContainerStatus) {
		if err := store.WriteStatus(pod.PodStatus{Name: name, Namespace: "default", UID: "uid-" + name, Phase: phase, Ready: ready, Containers: cs}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	write("a", corev1.PodRunning, true)
	write("b", corev1.PodSucceeded, false)
	if err := waitReady(ctx, store, a, time.Second); err != nil {
		t.Fatalf("ready + succeeded: %v", err)
	}
	write("b", corev1.PodFailed, false, pod.ContainerStatus{Name: "main", State: pod.StateTerminated, ExitCode: 3, Reason: "Error"})
	err := waitReady(ctx, store, a, time.Second)
	var we *waitError
	if !errors.As(err, &we) || we.ExitCode() != exitPodFailed || !strings.Contains(we.Error(), "exited with code 3") {
		t.Fatalf("failed pod: %v", err)
	}
	write("b", corev1.PodRunning, false, pod.ContainerStatus{Name: "main", State: pod.StateRunning, Message: "Readiness probe failed: nope"})
	err = waitReady(ctx, store, a, 300*time.Millisecond)
	if !errors.As(err, &we) || we.ExitCode() != exitTimeout || !strings.Contains(we.Error(), "b: container main running but not ready: Readiness probe failed: nope") {
		t.Fatalf("timeout: %v", err)
	}
}

func TestDisplays(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	sts := []pod.PodStatus{{Name: "web", Namespace: "default", Created: now.Add(-3 * time.Minute),
		InitContainers: []pod.ContainerStatus{{Name: "init", State: pod.StateTerminated, Reason: "Completed"}},
		Containers:     []pod.ContainerStatus{{Name: "app", State: pod.StateWaiting, Reason: "CrashLoopBackOff", ExitCode: 1, RestartCount: 4, StartedAt: now.Add(-30 * time.Second)}}}}
	var b bytes.Buffer
	writeContainerTable(&b, sts, now)
	out := b.String()
	for _, want := range []string{"POD", "init (init)", "Terminated:Completed(0)", "Waiting:CrashLoopBackOff(1)", "4", "30s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	r := newLineReporter(&b)
	r.report(sts)
	first := b.String()
	r.report(sts)
	if b.String() != first {
		t.Error("unchanged status reported twice")
	}
	b.Reset()
	pl := newPullLines(&b)
	pl.report([]pod.PullProgress{{Image: "i", Layers: []pod.LayerProgress{{ID: "abc", Status: "Downloading", Current: 1, Total: 2}}}})
	pl.report([]pod.PullProgress{{Image: "i", Layers: []pod.LayerProgress{{ID: "abc", Status: "Downloading", Current: 2, Total: 2}}}})
	if got := b.String(); got != "pull i: layer abc: Downloading\n" {
		t.Errorf("pull lines: %q", got)
	}
	b.Reset()
	writePullBars(&b, []pod.PullProgress{{Image: "i", Layers: []pod.LayerProgress{{ID: "abc", Status: "Downloading", Current: 1, Total: 2}}}})
	if !strings.Contains(b.String(), "[===============>") {
		t.Errorf("bars: %q", b.String())
	}
}
