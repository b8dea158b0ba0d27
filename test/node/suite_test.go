package node

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
)

// nodeTests run in parallel against one shared node (a kubelet start is
// slow); each uses pods of its own, named dlnode-<test>.
var nodeTests = []struct {
	name string
	fn   func(t *testing.T, n *Node)
}{
	{"RunningReady", testRunningReady},
	{"InitContainers", testInitContainers},
	{"RestartAlways", testRestartAlways},
	{"RestartOnFailure", testRestartOnFailure},
	{"RestartNever", testRestartNever},
	{"OOMKilled", testOOMKilled},
	{"SecurityAndEnv", testSecurityAndEnv},
	{"HooksAndTermination", testHooksAndTermination},
	{"ReadinessExec", testReadinessExec},
	{"LivenessHTTP", testLivenessHTTP},
	{"StartupProbe", testStartupProbe},
	{"Logs", testLogs},
	{"PreviousLogs", testPreviousLogs},
	{"Exec", testExec},
	{"PortForward", testPortForward},
	{"Stats", testStats},
	{"Delete", testDelete},
	{"LogRotation", testLogRotation},
}

// TestNode starts one dockerlet + kubelet, runs every node test against it
// in parallel, then checks the kubelet's log for runtime errors.
func TestNode(t *testing.T) {
	runNodeTests(t, startNode(t, nodeOptions{Run: "main"}))
}

func runNodeTests(t *testing.T, n *Node) {
	t.Run("pods", func(t *testing.T) {
		for _, tc := range nodeTests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, n)
			})
		}
	})
	checkKubeletLog(t, n.KubeletLog)
	checkCgroupDriver(t, n)
	checkDockerletCodes(t, n)
}

// busybox is a container of dockerlet's local busybox image running a
// shell script; the image is never pulled.
func busybox(name, script string) v1.Container {
	return v1.Container{
		Name:            name,
		Image:           localimage.Busybox,
		ImagePullPolicy: v1.PullNever,
		Command:         []string{"sh", "-c", script},
	}
}

func newPod(name string, restart v1.RestartPolicy, containers ...v1.Container) *v1.Pod {
	grace := int64(2)
	p := &v1.Pod{}
	p.Name = name
	p.Spec.RestartPolicy = restart
	p.Spec.TerminationGracePeriodSeconds = &grace
	p.Spec.Containers = containers
	return p
}

// httpd serves /www (index.html and healthz) on port.
func httpd(name string, port int) v1.Container {
	c := busybox(name, fmt.Sprintf(
		"mkdir -p /www && echo hello-from-%s > /www/index.html && echo ok > /www/healthz && exec httpd -f -p %d -h /www", name, port))
	c.Ports = []v1.ContainerPort{{ContainerPort: int32(port), Protocol: v1.ProtocolTCP}}
	return c
}

// Probes run every second. Their timeout is 5 s, not the default 1 s: on
// a loaded 2-core machine starting a Docker exec alone can take a second,
// and the tests are about what a probe result does, not about load.
func probe(h v1.ProbeHandler) *v1.Probe {
	return &v1.Probe{ProbeHandler: h, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 5}
}

func execProbe(cmd ...string) *v1.Probe {
	return probe(v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}})
}

func httpProbe(path string, port int) *v1.Probe {
	return probe(v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: path, Port: intstr.FromInt32(int32(port))}})
}

func tcpProbe(port int) *v1.Probe {
	return probe(v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}})
}

// Pod conditions for waitPod.

func phaseIs(ph v1.PodPhase) func(*v1.Pod) error {
	return func(p *v1.Pod) error {
		if p.Status.Phase != ph {
			return fmt.Errorf("phase %s, want %s", p.Status.Phase, ph)
		}
		return nil
	}
}

func podReady(p *v1.Pod) error {
	if p.Status.Phase != v1.PodRunning {
		return fmt.Errorf("phase %s, want Running", p.Status.Phase)
	}
	if !condition(p, v1.PodReady) {
		return fmt.Errorf("pod not Ready")
	}
	return nil
}

func podNotReady(p *v1.Pod) error {
	if condition(p, v1.PodReady) {
		return fmt.Errorf("pod Ready, want not Ready")
	}
	return nil
}

func condition(p *v1.Pod, typ v1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func containerStatus(p *v1.Pod, name string) *v1.ContainerStatus {
	for _, list := range [][]v1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// restartedAtLeast waits for k restarts of a container.
func restartedAtLeast(container string, k int32) func(*v1.Pod) error {
	return func(p *v1.Pod) error {
		cs := containerStatus(p, container)
		if cs == nil {
			return fmt.Errorf("no status for container %s", container)
		}
		if cs.RestartCount < k {
			return fmt.Errorf("container %s restarted %d times, want >= %d", container, cs.RestartCount, k)
		}
		return nil
	}
}
