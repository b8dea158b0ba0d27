package network

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

// A pod another runtime (cri-dockerd) set up, with libcni caching in its
// own cache directory: its IPs and its teardown come from that cache. Its
// loopback attachment (cached under eth0, as cri-dockerd runs it) has
// nothing to undo: its record goes, no plugin runs for it.
func TestCNIPodOfAnotherRuntimesCache(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	theirs := t.TempDir()
	cni := libcni.NewCNIConfigWithCacheDir([]string{f.bin}, theirs, nil)
	lo, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"0.3.1","name":"cni-loopback","plugins":[{"type":"loopback"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	list, err := libcni.ConfListFromFile(filepath.Join(f.conf, "10-fake.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123abcd"
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: f.netns, IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "ns"}, {"K8S_POD_NAME", "web"}}}
	for _, l := range []*libcni.NetworkConfigList{lo, list} {
		if _, err := cni.AddNetworkList(ctx, l, rt); err != nil {
			t.Fatal(err)
		}
	}
	f.calls()

	pod := &Pod{ID: id, Name: "web", Namespace: "ns", CNICacheDir: theirs}
	if ips, err := f.p.IPs(ctx, pod, nil); err != nil || !slices.Equal(ips, []string{"10.99.0.7", "fd99::7"}) {
		t.Errorf("IPs from their cache = %v, %v", ips, err)
	}
	if ips, _ := f.p.IPs(ctx, &Pod{ID: id}, nil); len(ips) != 0 {
		t.Errorf("IPs from our own cache = %v, want none", ips)
	}
	if err := f.p.TearDown(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	if got := summary(f.calls()); !slices.Equal(got, f.networkDELs()) {
		t.Errorf("DEL calls %q, want the network's only", got)
	}
	if left, _ := filepath.Glob(filepath.Join(theirs, "results", "*")); len(left) != 0 {
		t.Errorf("their cache entries left: %v", left)
	}
}

// An earlier version ran the loopback plugin and libcni cached its ADD
// under lo: TearDown drops that record without running the plugin, and
// IPs never reads it as the pod's.
func TestCNITearDownDropsLoopbackRecord(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	pod := &Pod{ID: "0a1b2c3d", Name: "web", Namespace: "ns"}
	if _, err := f.p.SetUp(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{f.bin}, f.cache, nil)
	lo, err := libcni.NetworkPluginConfFromBytes([]byte(`{"cniVersion":"0.3.1","name":"cni-loopback","type":"loopback"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cni.AddNetwork(ctx, lo, &libcni.RuntimeConf{ContainerID: pod.ID, NetNS: f.netns, IfName: "lo"}); err != nil {
		t.Fatal(err)
	}
	f.calls()
	if ips, err := f.p.IPs(ctx, pod, nil); err != nil || !slices.Equal(ips, []string{"10.99.0.7", "fd99::7"}) {
		t.Errorf("IPs = %v, %v", ips, err)
	}
	if err := f.p.TearDown(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	if got := summary(f.calls()); !slices.Equal(got, f.networkDELs()) {
		t.Errorf("DEL calls %q, want the network's only", got)
	}
	if left, _ := filepath.Glob(filepath.Join(f.cache, "results", "*")); len(left) != 0 {
		t.Errorf("cache entries left: %v", left)
	}
}
