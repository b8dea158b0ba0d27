package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/pod"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// playPrefix names the pods and namespaces the play tests create.
const playPrefix = "dltplay"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dockerletBinary builds cmd/dockerlet once (or takes DOCKERLET_BIN, built
// beforehand): the play tests drive the real command, daemon and all.
func dockerletBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv("DOCKERLET_BIN"); bin != "" {
			binPath = bin
			return
		}
		// One binary per test process, in one directory; those of test
		// processes that ended are removed, so nothing piles up in /tmp.
		dir := filepath.Join(os.TempDir(), playPrefix+"-e2e-bin")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		removeStaleBinaries(dir)
		binPath = filepath.Join(dir, fmt.Sprintf("dockerlet.%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/dockerlet/dockerlet/cmd/dockerlet")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// player runs `dockerlet` commands against one private state directory.
type player struct {
	t     *testing.T
	bin   string
	state string
	dir   string
	eng   *engine.Client
}

func newPlayer(t *testing.T) *player {
	t.Helper()
	testutil.RequireDocker(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		if os.Getenv(testutil.E2EEnv) == "1" {
			t.Fatal("no /bin/busybox (busybox-static; scripts/deps.sh installs it) to build dockerlet.local images from")
		}
		t.Skip("no /bin/busybox (busybox-static) to build dockerlet.local images from")
	}
	eng, err := engine.Connect(testutil.DockerHost(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &player{t: t, bin: dockerletBinary(t), state: t.TempDir(), dir: t.TempDir(), eng: eng}
	t.Cleanup(func() {
		p.downAll()
		p.killDaemon()
		eng.Close()
	})
	return p
}

// run runs dockerlet with args (and the state dir); it returns the
// combined output and the exit code.
func (p *player) run(stdin string, args ...string) (string, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{args[0], "--state-dir", p.state, "--docker-endpoint", testutil.DockerHost()}, args[1:]...)
	cmd := exec.CommandContext(ctx, p.bin, full...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("dockerlet %v: %v", args, err)
	}
	if testing.Verbose() {
		p.t.Logf("dockerlet %s → %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String(), code
}

// httpGet asks http://host:port/ from inside a play pod and returns the
// answer's last line (empty when nothing answered). nc rather than wget:
// the static busybox's wget crashes here.
func (p *player) httpGet(ns, pod, host string, port int) string {
	p.t.Helper()
	out, _ := p.run("", "exec", "-n", ns, pod, "--", "sh", "-c",
		fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s %d | tail -n 1`, host, port))
	return strings.TrimSpace(out)
}

// mustRun runs dockerlet and fails the test on a non-zero exit.
func (p *player) mustRun(args ...string) string {
	p.t.Helper()
	out, code := p.run("", args...)
	if code != 0 {
		// The background supervisor's log says why it exited; the state
		// directory goes with the test.
		if log, err := os.ReadFile(filepath.Join(p.state, "supervisor.log")); err == nil {
			out += "\nsupervisor.log:\n" + string(log)
		}
		p.t.Fatalf("dockerlet %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// manifest writes a YAML file into the test's directory.
func (p *player) manifest(name, yaml string) string {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// pods returns `dockerlet get pods -A -o json` (a v1 List of v1.Pod),
// each pod's status in the supervisor's terms.
func (p *player) pods() map[string]pod.PodStatus {
	p.t.Helper()
	cmd := exec.Command(p.bin, "get", "pods", "-A", "-o", "json", "--state-dir", p.state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("get pods: %v %s", err, stderr.String())
	}
	var list struct {
		APIVersion string       `json:"apiVersion"`
		Kind       string       `json:"kind"`
		Items      []corev1.Pod `json:"items"`
	}
	if err := json.Unmarshal(b, &list); err != nil || list.Kind != "List" || list.APIVersion != "v1" || list.Items == nil {
		p.t.Fatalf("get pods -o json: not a v1 List (%v)\n%s", err, b)
	}
	m := map[string]pod.PodStatus{}
	for i := range list.Items {
		st := statusOf(&list.Items[i])
		// What the API object has no field for, from the supervisor's record.
		if rec, ok := (pod.Store{Dir: p.state}).ReadStatus(st.UID); ok {
			st.SandboxID, st.Events = rec.SandboxID, rec.Events
		}
		m[st.Name] = st
	}
	return m
}

// statusOf reads a v1.Pod's status back into the supervisor's terms.
func statusOf(o *corev1.Pod) pod.PodStatus {
	st := pod.PodStatus{Name: o.Name, Namespace: o.Namespace, UID: string(o.UID), Phase: o.Status.Phase,
		Reason: o.Status.Reason, Message: o.Status.Message, PodIP: o.Status.PodIP}
	for _, c := range o.Status.Conditions {
		if c.Type == corev1.PodReady {
			st.Ready = c.Status == corev1.ConditionTrue
		}
	}
	sidecars := map[string]bool{}
	for _, c := range o.Spec.InitContainers {
		sidecars[c.Name] = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}
	conv := func(cs corev1.ContainerStatus) pod.ContainerStatus {
		out := pod.ContainerStatus{Name: cs.Name, Image: cs.Image, ID: strings.TrimPrefix(cs.ContainerID, "docker://"),
			Ready: cs.Ready, RestartCount: cs.RestartCount, Sidecar: sidecars[cs.Name]}
		switch s := cs.State; {
		case s.Running != nil:
			out.State, out.StartedAt = pod.StateRunning, s.Running.StartedAt.Time
		case s.Terminated != nil:
			out.State, out.ExitCode, out.Reason, out.Message = pod.StateTerminated, s.Terminated.ExitCode, s.Terminated.Reason, s.Terminated.Message
		case s.Waiting != nil:
			out.State, out.Reason, out.Message = pod.StateWaiting, s.Waiting.Reason, s.Waiting.Message
		}
		return out
	}
	for _, cs := range o.Status.InitContainerStatuses {
		st.InitContainers = append(st.InitContainers, conv(cs))
	}
	for _, cs := range o.Status.ContainerStatuses {
		st.Containers = append(st.Containers, conv(cs))
	}
	return st
}

// waitPod polls the pod's status until ok or the limit.
func (p *player) waitPod(name string, limit time.Duration, what string, ok func(pod.PodStatus) bool) pod.PodStatus {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, found := p.pods()[name]
		if found && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("pod %s: timed out waiting for %s; last status: %+v", name, what, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// containersOf lists the Docker containers (running or not) of a pod UID.
func (p *player) containersOf(uid string) []string {
	p.t.Helper()
	list, err := p.eng.ListContainers(context.Background(), engine.ListOptions{All: true})
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, c := range list {
		for _, n := range c.Names {
			if strings.Contains(n, uid) {
				out = append(out, n)
			}
		}
	}
	return out
}

// downAll removes whatever the test left recorded.
func (p *player) downAll() {
	records, _ := pod.Store{Dir: p.state}.ListApplied()
	for _, a := range records {
		p.run("", "down", a.Source)
	}
}

func (p *player) killDaemon() {
	b, err := os.ReadFile(filepath.Join(p.state, "supervisor.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// removeStaleBinaries deletes dockerlet.<pid> files whose process is gone.
func removeStaleBinaries(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "dockerlet."))
		if err != nil || pid <= 0 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// idleCmd is a container command (YAML flow list) that runs before, if
// any, then idles until SIGTERM, which ends it at once: a shell as PID 1
// ignores TERM without the trap, and every stop would wait out the grace
// period.
func idleCmd(before string) string {
	if before != "" {
		before += "; "
	}
	return `[sh, -c, "trap 'exit 0' TERM; ` + before + `while :; do sleep 1; done"]`
}

// idlePod is a Pod in play's namespace with one busybox container, main,
// that runs before (idleCmd) and then idles.
func idlePod(name, before string) string {
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, namespace: dltplay}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ` + busyboxImage + `, command: ` + idleCmd(before) + `}
`
}

// statefulSet is a StatefulSet of two busybox pods labelled app: app in
// play's namespace, named after the headless Service name, whose
// container main runs command (a YAML flow list).
func statefulSet(name, app, command string) string {
	return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ` + name + `, namespace: dltplay}
spec:
  replicas: 2
  serviceName: ` + name + `
  selector: {matchLabels: {app: ` + app + `}}
  template:
    metadata: {labels: {app: ` + app + `}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: ` + busyboxImage + `, command: ` + command + `}
`
}
