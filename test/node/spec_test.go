package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// What the kubelet computes from the pod spec reaches the container through
// dockerlet: user, groups, supplementary fsGroup on an emptyDir, a
// read-only root filesystem, dropped capabilities, downward-API env (the
// pod IP comes from dockerlet's sandbox status), a hostPath volume.
func testSecurityAndEnv(t *testing.T, n *Node) {
	host := filepath.Join(n.Dir, "hostpath")
	if err := os.MkdirAll(host, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(host, 0o777); err != nil { // the container writes as uid 1000
		t.Fatal(err)
	}
	uid, gid, fsGroup := int64(1000), int64(3000), int64(2000)
	readOnly, noEscalation := true, false
	c := busybox("c", "echo from-pod > /host/written; exec sleep 3600")
	c.SecurityContext = &v1.SecurityContext{
		ReadOnlyRootFilesystem:   &readOnly,
		AllowPrivilegeEscalation: &noEscalation,
		Capabilities:             &v1.Capabilities{Drop: []v1.Capability{"ALL"}},
	}
	c.Env = []v1.EnvVar{
		{Name: "PLAIN", Value: "value with spaces"},
		{Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
	}
	c.VolumeMounts = []v1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "host", MountPath: "/host"}}
	p := newPod("dlnode-spec", v1.RestartPolicyAlways, c)
	p.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &gid, FSGroup: &fsGroup}
	hostPathType := v1.HostPathDirectory
	p.Spec.Volumes = []v1.Volume{
		{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: host, Type: &hostPathType}}},
	}
	n.addPod(t, p)
	got := n.waitPod(t, p.Name, 2*time.Minute, podReady)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct{ cmd, want string }{
		{"id -u", "1000"},
		{"id -g", "3000"},
		{"id -G", "3000 2000"},
		{"touch /scratch/ok && echo ok", "ok"},
		{"touch /rootfs-write 2>&1 || true", "touch: /rootfs-write: Read-only file system"},
		{"grep CapEff /proc/self/status", "CapEff:\t0000000000000000"},
		{"echo $PLAIN", "value with spaces"},
		{"echo $POD_NAME", n.fullName(p.Name)},
		{"echo $POD_IP", got.Status.PodIP},
	} {
		out, _, err := n.exec(ctx, false, p.Name, "c", nil, "sh", "-c", tc.cmd)
		if err != nil || strings.TrimSpace(out) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.cmd, out, err, tc.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(host, "written")); err != nil || string(b) != "from-pod\n" {
		t.Errorf("hostPath file: %q, %v", b, err)
	}
}

// Lifecycle hooks run in the container (postStart before it counts as
// started, preStop before it is stopped), and a termination message written
// by the container is the kubelet's terminated.message.
func testHooksAndTermination(t *testing.T, n *Node) {
	// The hook runs beside the command, so the command waits for its file;
	// the hook renames a written file into place, since the shell's ">"
	// creates the file before echo fills it and the command could read it
	// empty.
	c := busybox("c", "while [ ! -f /state/post-start ]; do sleep 0.1; done; cat /state/post-start > /dev/termination-log; exit 4")
	c.Lifecycle = &v1.Lifecycle{
		PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo post-start-ran > /state/.post-start && mv /state/.post-start /state/post-start"}}},
	}
	c.VolumeMounts = []v1.VolumeMount{{Name: "state", MountPath: "/state"}}
	p := newPod("dlnode-hooks", v1.RestartPolicyNever, c)
	p.Spec.Volumes = []v1.Volume{{Name: "state", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
	n.addPod(t, p)
	got := n.waitPod(t, p.Name, 2*time.Minute, phaseIs(v1.PodFailed))
	term := containerStatus(got, "c").State.Terminated
	if term == nil || term.ExitCode != 4 || term.Message != "post-start-ran\n" {
		t.Errorf("terminated %+v, want exit 4 with the postStart hook's line as message", term)
	}

	// preStop: the hook writes to a hostPath before the kill.
	host := filepath.Join(n.Dir, "prestop")
	if err := os.MkdirAll(host, 0o755); err != nil {
		t.Fatal(err)
	}
	s := busybox("c", "exec sleep 3600")
	s.Lifecycle = &v1.Lifecycle{
		PreStop: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo pre-stop-ran > /host/pre-stop"}}},
	}
	s.VolumeMounts = []v1.VolumeMount{{Name: "host", MountPath: "/host"}}
	stop := newPod("dlnode-prestop", v1.RestartPolicyAlways, s)
	stop.Spec.Volumes = []v1.Volume{{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: host}}}}
	n.addPod(t, stop)
	n.waitPod(t, stop.Name, 2*time.Minute, podReady)
	n.deletePod(t, stop.Name)
	// The pod leaves /pods at once; the kill, hook first, follows.
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(filepath.Join(host, "pre-stop"))
		if err == nil && string(b) == "pre-stop-ran\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("preStop hook output: %q, %v", b, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
