package cache

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// realPod returns the inspect records Docker 20.10 gives for pod i's
// sandbox and container as dockerlet creates them for the kubelet
// (testdata: a real `docker inspect`, with each pod's ids, uid, name and
// addresses put in).
func realPod(tb testing.TB, i int) (sandbox, ctr []byte) {
	tb.Helper()
	r := strings.NewReplacer(
		"@CID@", fmt.Sprintf("%064x", 0xc0000000+i),
		"@SID@", fmt.Sprintf("%064x", 0x50000000+i),
		"@NSID12@", fmt.Sprintf("%012x", 0x70000000+i),
		"@NSID@", fmt.Sprintf("%064x", 0x70000000+i),
		"@EP@", fmt.Sprintf("%064x", 0xe0000000+i),
		"@CLAYER@", fmt.Sprintf("%064x", 0xa0000000+i),
		"@SLAYER@", fmt.Sprintf("%064x", 0xb0000000+i),
		"@UID@", fmt.Sprintf("6f1c2d3e-4a5b-4c6d-8e7f-%012x", i),
		"@N@", fmt.Sprintf("%03d", i),
		"@T@", fmt.Sprintf("1796499101%08d", i),
		"@IP@", fmt.Sprintf("172.17.%d.%d", i/250, 2+i%250),
		"@MAC@", fmt.Sprintf("02:42:ac:11:%02x:%02x", i/250, 2+i%250),
	)
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			tb.Fatal(err)
		}
		return []byte(r.Replace(string(b)))
	}
	return read("inspect-sandbox.json"), read("inspect-container.json")
}

func decodeInspect(tb testing.TB, b []byte) *container.InspectResponse {
	tb.Helper()
	var in container.InspectResponse
	if err := json.Unmarshal(b, &in); err != nil {
		tb.Fatal(err)
	}
	return &in
}

// bareCache is a Cache with only what store needs: no engine, no loop.
func bareCache() *Cache {
	return &Cache{
		labelKey: naming.LabelManaged, labelValue: "true", hasValue: true,
		entries: map[string]*entry{}, names: map[string]string{}, subs: map[*subscriber]struct{}{},
	}
}

// storedHeapPerRecord stores pods' records (a sandbox and a container
// each) as the cache does and returns the live heap they added, per
// record: the cache's resident cost of a container.
func storedHeapPerRecord(tb testing.TB, pods int) float64 {
	raw := make([][]byte, 0, 2*pods)
	for i := range pods {
		sb, ctr := realPod(tb, i)
		raw = append(raw, sb, ctr)
	}
	c := bareCache()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, b := range raw {
		c.store(c.observe(), decodeInspect(tb, b))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(c.names) != len(raw) {
		tb.Fatalf("stored %d records of %d", len(c.names), len(raw))
	}
	runtime.KeepAlive(c)
	runtime.KeepAlive(raw)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(raw))
}

// BenchmarkStoredRecordHeap reports the live heap per cached container at
// 250 pods (500 containers) of records as Docker 20.10 returns them.
//
//	go test -run '^$' -bench StoredRecordHeap -benchtime 3x ./internal/engine/cache/
func BenchmarkStoredRecordHeap(b *testing.B) {
	var per float64
	for range b.N {
		per = storedHeapPerRecord(b, 250)
	}
	b.ReportMetric(per, "heapB/record")
}

// TestSlimKeepsWhatReadersUse stores a pod's records as Docker 20.10 gives
// them and checks that the cache keeps every field its readers use (the
// CRI's status, stats and verbose info, the network plugin, the log
// copier, the cache's listing), drops the ones slim lists, shares strings
// between records and leaves the engine's record alone.
func TestSlimKeepsWhatReadersUse(t *testing.T) {
	c := bareCache()
	var want []*container.InspectResponse
	for i := range 2 {
		sbRaw, ctrRaw := realPod(t, i)
		for _, raw := range [][]byte{sbRaw, ctrRaw} {
			in := decodeInspect(t, raw)
			if in.Config.Labels[naming.LabelType] == naming.TypeSandbox {
				in.State.Health = &container.Health{Status: container.Healthy, FailingStreak: 1,
					Log: []*container.HealthcheckResult{{ExitCode: 0, Output: "ok"}}}
			}
			c.store(c.observe(), in)
			if !reflect.DeepEqual(in, decodeWithHealth(t, raw, in.State.Health)) {
				t.Fatal("store modified the engine's record")
			}
			want = append(want, in)
		}
	}
	for _, w := range want {
		got := c.entries[w.ID].inspect
		if got == w {
			t.Fatal("the cache keeps the engine's record itself")
		}
		for name, pair := range map[string][2]any{
			"ID": {got.ID, w.ID}, "Name": {got.Name, w.Name}, "Created": {got.Created, w.Created},
			"Path": {got.Path, w.Path}, "Args": {got.Args, w.Args}, "Image": {got.Image, w.Image},
			"RestartCount": {got.RestartCount, w.RestartCount},
			"Config":       {got.Config, w.Config}, "HostConfig": {got.HostConfig, w.HostConfig},
			"Mounts": {got.Mounts, w.Mounts}, "Ports": {got.NetworkSettings.Ports, w.NetworkSettings.Ports},
			"UpperDir":     {got.GraphDriver.Data["UpperDir"], w.GraphDriver.Data["UpperDir"]},
			"GraphDriver":  {got.GraphDriver.Name, w.GraphDriver.Name},
			"State.Status": {got.State.Status, w.State.Status}, "State.Pid": {got.State.Pid, w.State.Pid},
			"State.StartedAt": {got.State.StartedAt, w.State.StartedAt}, "State.FinishedAt": {got.State.FinishedAt, w.State.FinishedAt},
			"State.Running": {got.State.Running, w.State.Running}, "State.ExitCode": {got.State.ExitCode, w.State.ExitCode},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: %s = %v, want %v", w.Name, name, pair[0], pair[1])
			}
		}
		if w.GraphDriver.Data["UpperDir"] == "" {
			t.Fatal("testdata has no UpperDir")
		}
		if h := w.State.Health; h != nil {
			if g := got.State.Health; g == nil || g.Status != h.Status || g.FailingStreak != h.FailingStreak || g.Log != nil {
				t.Errorf("%s: health %+v, want status and streak of %+v without the log", w.Name, g, h)
			}
		}
		for name, ep := range w.NetworkSettings.Networks {
			g := got.NetworkSettings.Networks[name]
			if g == nil || g.NetworkID != ep.NetworkID || g.EndpointID != ep.EndpointID || g.IPAddress != ep.IPAddress ||
				g.GlobalIPv6Address != ep.GlobalIPv6Address || g.Gateway != ep.Gateway || g.MacAddress.String() != ep.MacAddress.String() {
				t.Errorf("%s: endpoint %s = %+v, want %+v", w.Name, name, g, ep)
			}
		}
		if len(got.NetworkSettings.Networks) != len(w.NetworkSettings.Networks) {
			t.Errorf("%s: %d endpoints, want %d", w.Name, len(got.NetworkSettings.Networks), len(w.NetworkSettings.Networks))
		}
		// Dropped: nobody reads them.
		for name, v := range map[string]string{
			"ResolvConfPath": got.ResolvConfPath, "HostnamePath": got.HostnamePath, "HostsPath": got.HostsPath,
			"LogPath": got.LogPath, "Driver": got.Driver, "Platform": got.Platform,
			"SandboxID": got.NetworkSettings.SandboxID, "SandboxKey": got.NetworkSettings.SandboxKey,
		} {
			if v != "" {
				t.Errorf("%s: %s kept (%q)", w.Name, name, v)
			}
		}
		if len(got.GraphDriver.Data) != 1 {
			t.Errorf("%s: GraphDriver.Data kept %v, want UpperDir alone", w.Name, got.GraphDriver.Data)
		}
	}
	// Shared: a label key every record has, a user key, a common value,
	// the pod's strings between its sandbox and container, the path lists.
	sb0, ctr0, sb1, ctr1 := c.entries[want[0].ID].inspect, c.entries[want[1].ID].inspect, c.entries[want[2].ID].inspect, c.entries[want[3].ID].inspect
	same := func(what, a, b string) {
		t.Helper()
		if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s: %q and %q are not one string", what, a, b)
		}
	}
	key := func(m map[string]string, k string) string {
		for kk := range m {
			if kk == k {
				return kk
			}
		}
		t.Fatalf("no label %s", k)
		return ""
	}
	same("managed key", key(ctr0.Config.Labels, naming.LabelManaged), key(ctr1.Config.Labels, naming.LabelManaged))
	same("user key", key(sb0.Config.Labels, naming.LabelUserPrefix+"app"), key(sb1.Config.Labels, naming.LabelUserPrefix+"app"))
	same("root dir", ctr0.Config.Labels[naming.LabelRootDir], sb1.Config.Labels[naming.LabelRootDir])
	same("image", ctr0.Config.Image, ctr1.Image)
	same("env", ctr0.Config.Env[0], ctr1.Config.Env[0])
	same("sandbox id", ctr0.Config.Labels[naming.LabelSandboxID], sb0.ID)
	same("pod uid", ctr0.Config.Labels[naming.LabelPodUID], sb0.Config.Labels[naming.LabelPodUID])
	same("network mode", string(ctr0.HostConfig.NetworkMode), string(ctr0.HostConfig.IpcMode))
	if &ctr0.HostConfig.MaskedPaths[0] != &sb1.HostConfig.MaskedPaths[0] {
		t.Error("masked paths are not one list")
	}
	if len(c.entries[ctr0.ID].interned) == 0 {
		t.Error("no handles kept for the interned strings")
	}
}

func decodeWithHealth(t *testing.T, raw []byte, h *container.Health) *container.InspectResponse {
	in := decodeInspect(t, raw)
	in.State.Health = h
	return in
}
