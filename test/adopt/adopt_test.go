// Package adopt runs `dockerlet serve --adopt-cri-dockerd` over pods made
// on the real daemon exactly as cri-dockerd v0.4 leaves them (names,
// labels, checkpoint file, log symlink, CNI attachment in its libcni
// cache), and checks the CRI answers a kubelet switched over gets.
package adopt

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/adopt/adopttest"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/testutil"
	"github.com/dockerlet/dockerlet/test/serveproc"
)

const prefix = "dlad"

const loopCmd = "trap 'exit 0' TERM; while :; do sleep 1; done"

type fixture struct {
	t           *testing.T
	ctx         context.Context
	eng         *engine.Client
	busybox     string
	pause       string
	criRoot     string // cri-dockerd's --cri-dockerd-root-directory
	criCNICache string // cri-dockerd's --cni-cache-dir
	logDir      string
	pod         adopttest.Pod
	made        *adopttest.Made
	srv         *serveproc.Server
	rt          runtimeapi.RuntimeServiceClient
	attachedIP  string // cni: the address cri-dockerd's ADD gave
}

func newFixture(t *testing.T, ctx context.Context, networkMode string) *fixture {
	testutil.RequireDocker(t)
	reg := testutil.StartRegistry(t)
	x := &fixture{t: t, ctx: ctx, criRoot: t.TempDir(), criCNICache: t.TempDir(), logDir: t.TempDir()}
	x.busybox = reg.PushBusybox(t, prefix+"/busybox:adopt", testutil.ImageOptions{Marker: prefix + "-adopt"})
	x.pause = reg.PushBusybox(t, prefix+"/pause:adopt", testutil.ImageOptions{
		Marker: prefix + "-adopt-pause", Cmd: []string{"sh", "-c", loopCmd},
	})
	var err error
	if x.eng, err = engine.Connect(testutil.DockerHost(), engine.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.eng.Close() })
	for _, ref := range []string{x.busybox, x.pause} {
		if err := x.eng.PullImage(ctx, ref, engine.PullOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = x.eng.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true}) })
	}
	run := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e6)
	uid := run + "-uid"
	x.pod = adopttest.Pod{
		Name: run + "-web", Namespace: prefix, UID: uid, Attempt: 0,
		Labels: map[string]string{
			"app": "web", "io.kubernetes.pod.name": run + "-web", "io.kubernetes.pod.namespace": prefix, "io.kubernetes.pod.uid": uid,
		},
		Annotations:  map[string]string{"kubernetes.io/config.source": "api", "kubernetes.io/config.seen": "2026-12-05T09:00:00Z"},
		NetworkMode:  networkMode,
		PauseImage:   x.pause,
		LogDirectory: filepath.Join(x.logDir, prefix+"_"+run+"-web_"+uid),
		Containers: []adopttest.Container{{
			Name: "app", Attempt: 0, Image: x.busybox,
			Command: []string{"sh", "-c", "echo adopted-hello; " + loopCmd},
			Labels: map[string]string{
				"io.kubernetes.container.name": "app", "io.kubernetes.pod.name": run + "-web",
				"io.kubernetes.pod.namespace": prefix, "io.kubernetes.pod.uid": uid,
			},
			Annotations: map[string]string{"io.kubernetes.container.hash": "5d2c1b7a", "io.kubernetes.container.restartCount": "0"},
		}},
		Start: true,
	}
	x.made, err = adopttest.Make(ctx, x.eng, x.criRoot, x.pod)
	t.Cleanup(func() { x.removeLeftovers() })
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// removeLeftovers removes what a failed run left: only this test's pod.
func (x *fixture) removeLeftovers() {
	if x.made == nil {
		return
	}
	for _, id := range append(x.made.ContainerIDs, x.made.SandboxID) {
		if id != "" {
			_ = x.eng.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
}

// serve starts dockerlet with cri-dockerd's flags plus --adopt-cri-dockerd.
func (x *fixture) serve(extra ...string) {
	t := x.t
	x.srv = serveproc.New(t, serveproc.Options{Dir: filepath.Join(t.TempDir(), "srv"), PauseImage: x.pause, Args: append([]string{
		"--adopt-cri-dockerd", "--cri-dockerd-root-directory", x.criRoot,
		"--docker-endpoint", testutil.DockerHost(),
	}, extra...)})
	if err := x.srv.Start(x.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.srv.Stop)
	x.dial()
}

// dial connects to the running server (anew after a restart: the old
// connection may wait out a reconnect backoff).
func (x *fixture) dial() {
	t := x.t
	conn, err := x.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	x.rt = runtimeapi.NewRuntimeServiceClient(conn)
}

// checkAdopted checks list, status, exec and logs of the adopted pod.
func (x *fixture) checkAdopted() *runtimeapi.PodSandboxStatus {
	t, ctx, rt := x.t, x.ctx, x.rt
	sel := map[string]string{"io.kubernetes.pod.uid": x.pod.UID}
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: sel}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sbs.Items) != 1 || sbs.Items[0].Id != x.made.SandboxID {
		t.Fatalf("ListPodSandbox: %v, want the sandbox cri-dockerd made, %s", sbs.Items, x.made.SandboxID)
	}
	sb := sbs.Items[0]
	if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY || sb.Metadata.Name != x.pod.Name || sb.Metadata.Uid != x.pod.UID ||
		!maps.Equal(sb.Labels, x.pod.Labels) || !maps.Equal(sb.Annotations, x.pod.Annotations) {
		t.Errorf("sandbox %v", sb)
	}
	in, err := x.eng.InspectContainer(ctx, x.made.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse(time.RFC3339Nano, in.Created)
	if sb.CreatedAt != created.UnixNano() {
		t.Errorf("sandbox created %d, Docker says %d", sb.CreatedAt, created.UnixNano())
	}
	ctrs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sb.Id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrs.Containers) != 1 || ctrs.Containers[0].Id != x.made.ContainerIDs[0] {
		t.Fatalf("ListContainers: %v, want %v", ctrs.Containers, x.made.ContainerIDs)
	}
	c := ctrs.Containers[0]
	want := x.pod.Containers[0]
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING || c.Metadata.Name != "app" || c.Metadata.Attempt != 0 ||
		!maps.Equal(c.Labels, want.Labels) || !maps.Equal(c.Annotations, want.Annotations) {
		t.Errorf("container %v", c)
	}
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.LogPath != x.made.LogPaths[0] || st.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("container status %v", st.Status)
	}
	ps, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.ContainersStatuses) != 1 || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("sandbox status %v", ps)
	}

	// Exec, and the log the kubelet reads: cri-dockerd's symlink to
	// Docker's json-file log.
	ex, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: c.Id, Cmd: []string{"echo", "exec-ok"}, Timeout: 30})
	if err != nil || ex.ExitCode != 0 || strings.TrimSpace(string(ex.Stdout)) != "exec-ok" {
		t.Errorf("ExecSync: %v, %v", ex, err)
	}
	var logText string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(st.Status.LogPath)
		if logText = string(b); strings.Contains(logText, "adopted-hello") {
			break
		}
	}
	var rec struct{ Log, Stream string }
	if err := json.Unmarshal([]byte(strings.SplitN(logText, "\n", 2)[0]), &rec); err != nil || rec.Log != "adopted-hello\n" {
		t.Errorf("log at %s: %q (%v), want Docker's json-file record of the container's output", st.Status.LogPath, logText, err)
	}
	cs, err := rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: c.Id})
	if err != nil || cs.GetStats().GetAttributes().GetMetadata().GetName() != "app" || cs.GetStats().GetCpu() == nil {
		t.Errorf("ContainerStats: %v, %v", cs, err)
	}
	if _, err := rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: c.Id}); err == nil {
		t.Error("ReopenContainerLog of an adopted container succeeded; its log is Docker's")
	}
	return ps.Status
}

// stopAndRemove takes the pod down through the CRI and checks nothing of
// it is left: containers, cri-dockerd's checkpoint, the log symlink.
func (x *fixture) stopAndRemove() {
	t, ctx, rt := x.t, x.ctx, x.rt
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: x.made.SandboxID}); err != nil {
		t.Fatal(err)
	}
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: x.made.ContainerIDs[0]})
	if err != nil || st.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Errorf("after StopPodSandbox: %v, %v", st, err)
	}
	ps, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: x.made.SandboxID})
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("after StopPodSandbox: %v, %v", ps, err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: x.made.SandboxID}); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(x.made.ContainerIDs, x.made.SandboxID) {
		if _, err := x.eng.InspectContainer(ctx, id); err == nil {
			t.Errorf("%s still exists after RemovePodSandbox", id)
		}
	}
	if _, err := os.Stat(filepath.Join(x.criRoot, "sandbox", x.made.SandboxID)); !os.IsNotExist(err) {
		t.Errorf("cri-dockerd's checkpoint left: %v", err)
	}
	if _, err := os.Lstat(x.made.LogPaths[0]); !os.IsNotExist(err) {
		t.Errorf("cri-dockerd's log symlink left: %v", err)
	}
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sb := range sbs.Items {
		if sb.Id == x.made.SandboxID {
			t.Errorf("removed sandbox still listed")
		}
	}
}

// TestAdoptCRIDockerdPod: a pod cri-dockerd left on Docker's network
// (no network plugin: NetworkMode "default") is listed with its ids and
// the kubelet's labels, answers status, exec and logs, and stops and
// removes as dockerlet's own.
func TestAdoptCRIDockerdPod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	x := newFixture(t, ctx, "default")
	x.serve("--network-plugin", "docker")
	st := x.checkAdopted()
	if st.GetNetwork().GetIp() == "" {
		t.Errorf("no pod IP: %v", st.GetNetwork())
	}
	// Adoption is made afresh at each start: a restarted server (kill -9,
	// as a crash) adopts the pod again, and its Reconcile leaves it be.
	x.srv.Kill()
	if err := x.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	x.dial()
	if again := x.checkAdopted(); again.CreatedAt != st.CreatedAt || again.GetNetwork().GetIp() != st.GetNetwork().GetIp() {
		t.Errorf("after a restart: %v, before: %v", again, st)
	}
	x.stopAndRemove()
}

// TestAdoptCRIDockerdCNIPod: a pod cri-dockerd's cni plugin attached (its
// ADD cached by libcni in cri-dockerd's --cni-cache-dir) reports the
// address it was given, and its removal releases it with the config
// cached at the ADD: the network's conflist is gone by then.
func TestAdoptCRIDockerdCNIPod(t *testing.T) {
	testutil.RequireCNI(t, "bridge", "host-local", "loopback")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := testutil.NewCNINet(t, testutil.CNINetOptions{Prefix: prefix})
	x := newFixture(t, ctx, "none")
	x.attachedIP = x.attach(n, x.made, x.pod)
	// A second pod whose sandbox container went (docker rm -f) while its
	// checkpoint and its attachment stayed.
	gonePod := x.pod
	gonePod.Name, gonePod.UID, gonePod.Containers = x.pod.Name+"-gone", x.pod.UID+"-gone", nil
	gone, err := adopttest.Make(ctx, x.eng, x.criRoot, gonePod)
	if gone != nil {
		t.Cleanup(func() {
			_ = x.eng.RemoveContainer(context.Background(), gone.SandboxID, engine.RemoveOptions{Force: true})
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	goneIP := x.attach(n, gone, gonePod)
	if err := x.eng.RemoveContainer(ctx, gone.SandboxID, engine.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if got := n.Reservations(t); len(got) != 2 {
		t.Fatalf("reservations %v after cri-dockerd's ADDs of %s and %s", got, x.attachedIP, goneIP)
	}
	// Only the cache knows the network from now on.
	confs, _ := filepath.Glob(filepath.Join(n.ConfDir, "*"))
	for _, c := range confs {
		if err := os.Remove(c); err != nil {
			t.Fatal(err)
		}
	}
	x.serve("--network-plugin", "cni", "--cni-bin-dir", testutil.CNIPluginDir, "--cni-conf-dir", n.ConfDir,
		"--cni-cache-dir", x.criCNICache, "--cni-netns-dir", n.NetNSDir)
	// The gone sandbox's address is released at start.
	if got := n.Reservations(t); len(got) != 1 || got[0] != x.attachedIP {
		t.Errorf("reservations %v once serving, want only the live pod's %s", got, x.attachedIP)
	}
	if _, err := os.Stat(filepath.Join(x.criRoot, "sandbox", gone.SandboxID)); !os.IsNotExist(err) {
		t.Errorf("checkpoint of the gone sandbox left: %v", err)
	}
	st := x.checkAdopted()
	if st.GetNetwork().GetIp() != x.attachedIP {
		t.Errorf("pod IP %q, want %s (cri-dockerd's ADD)", st.GetNetwork().GetIp(), x.attachedIP)
	}
	x.stopAndRemove()
	if got := n.Reservations(t); len(got) != 0 {
		t.Errorf("addresses still reserved after removal: %v", got)
	}
	if got := n.BridgePorts(t); len(got) != 0 {
		t.Errorf("veths still on the bridge: %v", got)
	}
	left, _ := filepath.Glob(filepath.Join(x.criCNICache, "results", "*"+x.made.SandboxID+"*"))
	if len(left) != 0 {
		t.Errorf("libcni cache entries left: %v", left)
	}
}

// attach runs the ADDs cri-dockerd's cni plugin runs for a sandbox
// (buildCNIRuntimeConf): loopback, then the network, both with the
// sandbox id, interface eth0 and the K8S_POD_* arguments, cached by
// libcni in cri-dockerd's cache directory.
func (x *fixture) attach(n *testutil.CNINet, made *adopttest.Made, pod adopttest.Pod) string {
	t, ctx := x.t, x.ctx
	in, err := x.eng.InspectContainer(ctx, made.SandboxID)
	if err != nil {
		t.Fatal(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{testutil.CNIPluginDir}, x.criCNICache, nil)
	lo, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"0.2.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	confs, _ := filepath.Glob(filepath.Join(n.ConfDir, "*.conflist"))
	if len(confs) != 1 {
		t.Fatalf("conflists %v", confs)
	}
	list, err := libcni.ConfListFromFile(confs[0])
	if err != nil {
		t.Fatal(err)
	}
	rt := &libcni.RuntimeConf{
		ContainerID: made.SandboxID, NetNS: fmt.Sprintf("/proc/%d/ns/net", in.State.Pid), IfName: "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", pod.Namespace}, {"K8S_POD_NAME", pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", made.SandboxID},
		},
		CapabilityArgs: map[string]any{"portMappings": []any{}},
	}
	if _, err := cni.AddNetworkList(ctx, lo, rt); err != nil {
		t.Fatal(err)
	}
	res, err := cni.AddNetworkList(ctx, list, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cni.DelNetworkList(context.Background(), list, &libcni.RuntimeConf{ContainerID: made.SandboxID, IfName: "eth0"})
	})
	b, _ := json.Marshal(res)
	var r struct {
		IPs []struct{ Address string } `json:"ips"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.IPs) == 0 {
		t.Fatalf("ADD result %s: %v", b, err)
	}
	ip, _, _ := strings.Cut(r.IPs[0].Address, "/")
	return ip
}
