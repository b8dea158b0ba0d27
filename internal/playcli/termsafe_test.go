package playcli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// A container's output reaches describe, get and play's view through exec
// probe messages and events: the terminal must get it escaped — no window
// title set, no line rewritten, no forged "healthy" line.
func TestContainerTextEscapedForTheTerminal(t *testing.T) {
	const (
		title = "\x1b]0;pwned\x07"
		fake  = "\r\x1b[2KReady: true\nHealthy: yes\x9b2J"
	)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox", Args: []string{"echo", title}}},
	}}
	st := pod.PodStatus{Name: "web", Namespace: "default", Message: "pod message " + fake,
		Containers: []pod.ContainerStatus{{Name: "c", State: pod.StateWaiting, Reason: "Probe" + title, Message: "container " + fake}},
		Events:     []pod.Event{{Time: time.Now(), Type: "Warning", Reason: "Unhealthy", Message: "Liveness probe failed: " + title + fake}},
	}
	r := podRef{applied: &pod.Applied{Source: "x.yaml"}, pod: p, status: st}
	var out bytes.Buffer
	describe(cli.SafeWriter(&out), r, time.Now())
	check := func(what, s string) {
		t.Helper()
		if strings.ContainsAny(s, "\x1b\x07\r\u009b") {
			t.Errorf("%s: raw control characters in\n%q", what, s)
		}
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "Healthy: yes") {
				t.Errorf("%s: a forged line: %q", what, line)
			}
		}
		if !strings.Contains(s, `\x1b`) {
			t.Errorf("%s: the escape is not shown escaped:\n%s", what, s)
		}
	}
	check("describe", out.String())

	out.Reset()
	writeContainerTable(&out, []pod.PodStatus{st}, time.Now())
	check("play's table", out.String())

	out.Reset()
	newLineReporter(&out).report([]pod.PodStatus{st})
	check("play's lines", out.String())
}
