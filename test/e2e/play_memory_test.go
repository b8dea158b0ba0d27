package e2e

import (
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// TestPlayMemoryEmptyDirFSGroup: an emptyDir with medium Memory is a
// tmpfs of its sizeLimit (writing past it fails); the pod's fsGroup owns
// its volumes (files made later too, through the setgid directory) and is
// among the container's groups; down unmounts the tmpfs.
func TestPlayMemoryEmptyDirFSGroup(t *testing.T) {
	p := newPlayer(t)
	file := p.manifest("mem.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: dlpj-cfg, namespace: dlpj}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: dlpj-mem, namespace: dlpj}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1234, fsGroup: 2345}
  volumes:
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  - {name: disk, emptyDir: {}}
  - {name: cfg, configMap: {name: dlpj-cfg}}
  containers:
  - name: main
    image: `+busyboxImage+`
    command: [sh, -c, "trap 'exit 0' TERM; while :; do sleep 1; done"]
    volumeMounts:
    - {name: mem, mountPath: /mem}
    - {name: disk, mountPath: /disk}
    - {name: cfg, mountPath: /cfg}
`)
	p.mustRun("play", "--wait", "--timeout", "90s", file)
	sh := func(cmd string) (string, int) {
		out, code := p.run("", "exec", "-n", "dlpj", "dlpj-mem", "--", "sh", "-c", cmd)
		return strings.TrimSpace(out), code
	}
	if out, _ := sh("grep ' /mem ' /proc/mounts"); !strings.HasPrefix(out, "tmpfs /mem tmpfs") || !strings.Contains(out, "size=1024k") {
		t.Fatalf("/mem: %q", out)
	}
	if out, code := sh("dd if=/dev/zero of=/mem/big bs=1024 count=2048"); code == 0 {
		t.Fatalf("wrote 2 MiB to a 1 MiB tmpfs: %s", out)
	}
	if out, _ := sh("id -G"); !strings.Contains(" "+out+" ", " 2345 ") {
		t.Fatalf("groups %q: no fsGroup", out)
	}
	if out, _ := sh("touch /disk/new && stat -c %g /disk /disk/new /cfg/k /mem"); out != "2345\n2345\n2345\n2345" {
		t.Fatalf("volume groups: %q", out)
	}
	st := p.pods()["dlpj-mem"]
	p.mustRun("down", file)
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(p.state))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.Contains(m.Mountpoint, st.UID) {
			t.Fatalf("down left %s mounted", m.Mountpoint)
		}
	}
}
