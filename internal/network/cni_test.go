package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// fakePluginScript records every invocation in a log and answers ADD with
// a fixed dual-stack result (pod IPs on the sandbox interface, the bridge
// address on a host interface). A pod named "fail" makes ADD fail.
const fakePluginScript = `#!/bin/sh
in=$(cat)
printf '%s %s netns=%s if=%s args=%s stdin=%s\n' "$(basename "$0")" "$CNI_COMMAND" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$in" >> LOGFILE
case "$CNI_COMMAND" in
ADD)
  case "$CNI_ARGS" in *K8S_POD_NAME=fail*) echo '{"code":100,"msg":"injected failure"}'; exit 1;; esac
  case "$in" in *'"0.3.1"'*) echo '{"cniVersion":"0.3.1"}'; exit 0;; esac
  printf '{"cniVersion":"1.0.0","interfaces":[{"name":"fbr0"},{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.99.0.1/16","interface":0},{"address":"fd99::7/64","interface":1},{"address":"10.99.0.7/16","interface":1}]}' "$CNI_IFNAME" "$CNI_NETNS"
  ;;
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}';;
esac
`

type fakeCNI struct {
	p       *cniPlugin
	log     string
	bin     string
	conf    string
	cache   string
	pins    string
	netns   string
	testing *testing.T
}

// networkDELs is what tearing down one pod runs on the fake network: the
// chain's DELs in reverse order, for eth0 only.
func (f *fakeCNI) networkDELs() []string {
	return []string{
		"fakepm DEL netns=" + f.netns + " if=eth0",
		"fakebr DEL netns=" + f.netns + " if=eth0",
	}
}

func newFakeCNI(t *testing.T) *fakeCNI {
	t.Helper()
	f := &fakeCNI{bin: t.TempDir(), conf: t.TempDir(), cache: t.TempDir(), pins: t.TempDir(), testing: t}
	f.log = filepath.Join(t.TempDir(), "calls.log")
	script := strings.Replace(fakePluginScript, "LOGFILE", f.log, 1)
	for _, n := range []string{"loopback", "fakebr", "fakepm", "fakeother"} {
		if err := os.WriteFile(filepath.Join(f.bin, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Any file that is not the host netns will do for plugins that do not
	// enter it.
	f.netns = filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(f.netns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.conf, "10-fake.conflist", `{"cniVersion":"1.0.0","name":"fakenet","plugins":[`+
		`{"type":"fakebr"},{"type":"fakepm","capabilities":{"portMappings":true}}]}`)
	f.p = f.restart()
	return f
}

// restart returns a fresh plugin on the same dirs, as after a server restart.
func (f *fakeCNI) restart() *cniPlugin {
	p, err := newCNI(Config{Plugin: PluginCNI, CNIBinDirs: []string{f.bin}, CNIConfDir: f.conf, CNICacheDir: f.cache, CNINetNSDir: f.pins, Logger: discardLogger()})
	if err != nil {
		f.testing.Fatal(err)
	}
	// The fake netns is a plain file: lo is "brought up" in the call log.
	p.loUp = func(netns string) error {
		l, err := os.OpenFile(f.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(l, "lo UP netns=%s if=lo\n", netns)
		return errors.Join(err, l.Close())
	}
	return p
}

// calls returns the logged invocations since the last call, as
// "<plugin> <COMMAND> netns=… if=…" plus the rest of the line.
func (f *fakeCNI) calls() []string {
	data, err := os.ReadFile(f.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		f.testing.Fatal(err)
	}
	_ = os.Remove(f.log)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func summary(calls []string) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		fields := strings.Fields(c)
		if len(fields) >= 4 {
			out = append(out, strings.Join(fields[:4], " "))
		}
	}
	return out
}

func TestCNILifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	pod := &Pod{ID: "0123abcd", Name: "web", Namespace: "ns", UID: "u-1",
		PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}}}

	res, err := f.p.SetUp(ctx, pod, f.netns)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.99.0.7", "fd99::7"}
	if !slices.Equal(res.IPs, want) {
		t.Errorf("SetUp IPs = %v, want %v (IPv4 first, bridge address excluded)", res.IPs, want)
	}
	calls := f.calls()
	if got := summary(calls); !slices.Equal(got, []string{
		"lo UP netns=" + f.netns + " if=lo",
		"fakebr ADD netns=" + f.netns + " if=eth0",
		"fakepm ADD netns=" + f.netns + " if=eth0",
	}) {
		t.Fatalf("ADD calls = %q", got)
	}
	for _, want := range []string{"K8S_POD_NAMESPACE=ns", "K8S_POD_NAME=web", "K8S_POD_INFRA_CONTAINER_ID=0123abcd", "K8S_POD_UID=u-1"} {
		if !strings.Contains(calls[1], want) {
			t.Errorf("CNI_ARGS lack %s: %s", want, calls[1])
		}
	}
	if !strings.Contains(calls[2], `"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}`) {
		t.Errorf("portmap did not get the port mappings: %s", calls[2])
	}
	if strings.Contains(calls[1], "runtimeConfig") {
		t.Errorf("bridge got capability args it does not declare: %s", calls[1])
	}

	if _, err := os.Stat(filepath.Join(f.pins, pod.ID)); err != nil {
		t.Errorf("netns not pinned: %v", err)
	}

	// A restarted server reads the IPs from the cache: no plugin runs.
	p2 := f.restart()
	ips, err := p2.IPs(ctx, pod, nil)
	if err != nil || !slices.Equal(ips, want) {
		t.Fatalf("IPs after restart = %v, %v", ips, err)
	}
	if c := f.calls(); len(c) != 0 {
		t.Errorf("IPs ran plugins: %q", c)
	}

	// The conf dir changes to another network; teardown (without netns,
	// the container is gone) still runs DEL for what was added, in reverse.
	if err := os.Remove(filepath.Join(f.conf, "10-fake.conflist")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.conf, "10-other.conflist", `{"cniVersion":"1.0.0","name":"othernet","plugins":[{"type":"fakeother"}]}`)
	if ips, err := p2.IPs(ctx, pod, nil); err != nil || !slices.Equal(ips, want) {
		t.Errorf("IPs after conf change = %v, %v", ips, err)
	}
	if err := p2.TearDown(ctx, pod, ""); err != nil {
		t.Fatal(err)
	}
	calls = f.calls()
	if got := summary(calls); !slices.Equal(got, []string{
		"fakepm DEL netns= if=eth0",
		"fakebr DEL netns= if=eth0",
	}) {
		t.Fatalf("DEL calls = %q", got)
	}
	if !strings.Contains(calls[0], `"prevResult"`) || !strings.Contains(calls[0], `"runtimeConfig":{"portMappings":[{"containerPort":80,"hostPort":8080`) {
		t.Errorf("DEL lacks cached prevResult or port mappings: %s", calls[0])
	}
	if ips, err := p2.IPs(ctx, pod, nil); err != nil || len(ips) != 0 {
		t.Errorf("IPs after teardown = %v, %v", ips, err)
	}
	if _, err := os.Stat(filepath.Join(f.pins, pod.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("netns pin left after teardown: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.cache, "results", "*")); len(left) != 0 {
		t.Errorf("cache entries left: %v", left)
	}

	// Again: idempotent. No record now, so DEL runs with the current config.
	if err := p2.TearDown(ctx, pod, f.netns); err != nil {
		t.Fatal(err)
	}
	if got := summary(f.calls()); !slices.Equal(got, []string{
		"fakeother DEL netns=" + f.netns + " if=eth0",
	}) {
		t.Fatalf("second DEL calls = %q", got)
	}

	// No record and no config: nothing to run, and no error.
	if err := os.Remove(filepath.Join(f.conf, "10-other.conflist")); err != nil {
		t.Fatal(err)
	}
	if err := p2.TearDown(ctx, pod, ""); err != nil {
		t.Fatalf("teardown without config: %v", err)
	}
}

func TestCNISetUpRollsBack(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	pod := &Pod{ID: "feed01", Name: "fail", Namespace: "ns"}
	if _, err := f.p.SetUp(ctx, pod, f.netns); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("SetUp err = %v, want the plugin's error", err)
	}
	got := summary(f.calls())
	wantTail := f.networkDELs()
	if len(got) < 2 || !slices.Equal(got[len(got)-2:], wantTail) {
		t.Fatalf("calls = %q, want a rollback ending in %q", got, wantTail)
	}
	if left, _ := filepath.Glob(filepath.Join(f.cache, "results", "*")); len(left) != 0 {
		t.Errorf("cache entries left: %v", left)
	}
}

func TestCNIRefusesHostNetNS(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	pod := &Pod{ID: "beef02", Name: "web", Namespace: "ns"}
	if _, err := f.p.SetUp(ctx, pod, "/proc/self/ns/net"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("SetUp in host netns: err = %v", err)
	}
	if _, err := f.p.SetUp(ctx, pod, ""); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("SetUp without netns: err = %v", err)
	}
	if c := f.calls(); len(c) != 0 {
		t.Fatalf("plugins ran: %q", c)
	}
	// A stale path that now names the host netns, or a vanished one, is
	// torn down without a netns.
	for _, ns := range []string{"/proc/self/ns/net", filepath.Join(t.TempDir(), "gone")} {
		if err := f.p.TearDown(ctx, pod, ns); err != nil {
			t.Fatal(err)
		}
		for _, c := range summary(f.calls()) {
			if !strings.Contains(c, "netns= ") {
				t.Errorf("%s: DEL got a netns: %s", ns, c)
			}
		}
	}
}

func TestCNIHostNetworkAndPrepare(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	host := &Pod{ID: "h1", HostNetwork: true, PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80}}}
	spec := &engine.CreateSpec{}
	if err := f.p.Prepare(ctx, host, spec); err != nil || spec.HostConfig.NetworkMode != "host" {
		t.Fatalf("host pod: mode %q, %v", spec.HostConfig.NetworkMode, err)
	}
	if res, err := f.p.SetUp(ctx, host, ""); err != nil || len(res.IPs) != 0 {
		t.Fatalf("host pod SetUp = %v, %v", res, err)
	}
	if err := f.p.TearDown(ctx, host, ""); err != nil {
		t.Fatal(err)
	}
	if c := f.calls(); len(c) != 0 {
		t.Fatalf("plugins ran for a host-network pod: %q", c)
	}

	spec = &engine.CreateSpec{}
	pod := &Pod{ID: "p1", PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}}}
	if err := f.p.Prepare(ctx, pod, spec); err != nil || spec.HostConfig.NetworkMode != "none" || spec.HostConfig.PortBindings != nil {
		t.Fatalf("cni pod: mode %q bindings %v, %v", spec.HostConfig.NetworkMode, spec.HostConfig.PortBindings, err)
	}
	bad := &Pod{ID: "p2", PortMappings: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080, HostIp: "nope"}}}
	if err := f.p.Prepare(ctx, bad, &engine.CreateSpec{}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("bad mapping: err = %v", err)
	}
}

func TestCNISetUpNotReady(t *testing.T) {
	p, err := newCNI(Config{Plugin: PluginCNI, CNIBinDirs: []string{t.TempDir()}, CNIConfDir: t.TempDir(), CNICacheDir: t.TempDir(), CNINetNSDir: t.TempDir(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	netns := filepath.Join(t.TempDir(), "ns")
	if err := os.WriteFile(netns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = p.SetUp(context.Background(), &Pod{ID: "x1"}, netns)
	var nr *NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("SetUp without config: err = %v, want NotReadyError", err)
	}
}

// A cache entry nobody can replay must not keep a pod terminating: TearDown
// falls back to the current config and drops the entry.
func TestCNITearDownCorruptCache(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	results := filepath.Join(f.cache, "results")
	if err := os.MkdirAll(results, 0o700); err != nil {
		t.Fatal(err)
	}
	for id, content := range map[string]string{
		"c0ffee01": "{garbage",
		"c0ffee02": `{"kind":"cniCacheV1","containerId":"c0ffee02","ifName":"eth0","networkName":"fakenet","config":"bm90IGpzb24="}`,
	} {
		path := filepath.Join(results, "fakenet-"+id+"-eth0")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		pod := &Pod{ID: id, Name: "p", Namespace: "ns"}
		if _, err := f.p.IPs(ctx, pod, nil); id == "c0ffee01" && err == nil {
			t.Errorf("%s: IPs from an unparsable cache entry: no error", id)
		}
		if err := f.p.TearDown(ctx, pod, ""); err != nil {
			t.Fatalf("%s: TearDown = %v", id, err)
		}
		if got := summary(f.calls()); !slices.Equal(got, []string{
			"fakepm DEL netns= if=eth0", "fakebr DEL netns= if=eth0",
		}) {
			t.Errorf("%s: DEL calls = %q, want the current config's", id, got)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: corrupt cache entry kept: %v", id, err)
		}
	}
}

// GC tears down pinned pods the server no longer knows, and only those.
func TestCNIGC(t *testing.T) {
	ctx := context.Background()
	f := newFakeCNI(t)
	for _, id := range []string{"aaaa01", "bbbb02"} {
		if _, err := f.p.SetUp(ctx, &Pod{ID: id, Name: id, Namespace: "ns"}, f.netns); err != nil {
			t.Fatal(err)
		}
	}
	f.calls()
	gc, ok := Plugin(f.p).(GarbageCollector)
	if !ok {
		t.Fatal("cni plugin is not a GarbageCollector")
	}
	if err := gc.GC(ctx, func(id string) bool { return id == "bbbb02" }); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if got := summary(calls); !slices.Equal(got, []string{
		"fakepm DEL netns= if=eth0", "fakebr DEL netns= if=eth0",
	}) {
		t.Fatalf("GC calls = %q", got)
	}
	if !strings.Contains(calls[0], "K8S_POD_INFRA_CONTAINER_ID=aaaa01") {
		t.Errorf("GC tore down the wrong pod: %s", calls[0])
	}
	if ips, err := f.p.IPs(ctx, &Pod{ID: "bbbb02"}, nil); err != nil || len(ips) == 0 {
		t.Errorf("live pod lost its network: %v, %v", ips, err)
	}
	if err := f.p.TearDown(ctx, &Pod{ID: "bbbb02"}, f.netns); err != nil {
		t.Fatal(err)
	}
	f.calls()
	if err := gc.GC(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if c := f.calls(); len(c) != 0 {
		t.Errorf("GC with nothing left ran %q", c)
	}
}
