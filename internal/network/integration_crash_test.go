package network_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockerlet/dockerlet/internal/network"
)

// TestIntegrationCNIDelAfterCutShortAdd plays a kill -9 inside CNI ADD
// after every plugin ran but before libcni cached the result: the cache
// entry is gone, so DEL has no prevResult and the firewall plugin would
// leave its per-IP CNI-FORWARD rules. A restarted server's TearDown must
// leave no rule, reservation or veth — with the current config (pod a),
// and with the config of the ADD intent when the conf dir changed since
// (pod b).
func TestIntegrationCNIDelAfterCutShortAdd(t *testing.T) {
	e := newCNIEnv(t)
	ctx := context.Background()
	p := e.plugin(t)
	a := &network.Pod{Name: "a", Namespace: "dltnet", UID: "uid-a"}
	b := &network.Pod{Name: "b", Namespace: "dltnet", UID: "uid-b"}
	e.sandbox(t, p, a)
	e.sandbox(t, p, b)
	ipA, _ := p.IPs(ctx, a, nil)
	ipB, _ := p.IPs(ctx, b, nil)
	if len(ipA) != 1 || len(ipB) != 1 {
		t.Fatalf("IPs %v %v", ipA, ipB)
	}
	save := iptablesSave(t)
	for _, ip := range []string{ipA[0], ipB[0]} {
		if !strings.Contains(save, "-d "+ip+"/32") {
			t.Fatalf("no firewall rule for %s before the crash:\n%s", ip, grepLines(save, "CNI-FORWARD"))
		}
	}

	results := filepath.Join(e.cfg.CNICacheDir, "results")
	cacheOf := func(pod *network.Pod) string {
		return filepath.Join(results, e.Name+"-"+pod.ID+"-eth0")
	}
	// b's ADD intent is what SetUp wrote before ADD: the cache entry's
	// format (its result is ignored).
	intents := filepath.Join(e.cfg.CNICacheDir, "dockerlet-intents")
	if err := os.MkdirAll(intents, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cacheOf(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(intents, b.ID+".json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, pod := range []*network.Pod{a, b} {
		if err := os.Remove(cacheOf(pod)); err != nil {
			t.Fatal(err)
		}
	}

	restarted := e.plugin(t)
	if err := restarted.TearDown(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	// The conf dir loses the network: b's DEL must come from its intent.
	if err := os.Remove(filepath.Join(e.cfg.CNIConfDir, "10-dltnet.conflist")); err != nil {
		t.Fatal(err)
	}
	restarted, err = network.New(e.eng, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.TearDown(ctx, b, ""); err != nil {
		t.Fatal(err)
	}

	save = iptablesSave(t)
	for _, ip := range []string{ipA[0], ipB[0]} {
		if strings.Contains(save, ip+"/32") {
			t.Errorf("iptables still mentions %s:\n%s", ip, grepLines(save, ip+"/32"))
		}
	}
	if ports := e.BridgePorts(t); len(ports) != 0 {
		t.Errorf("veths left on %s: %v", e.Bridge, ports)
	}
	if got := e.Reservations(t); len(got) != 0 {
		t.Errorf("IPAM reservations left: %v", got)
	}
	for _, dir := range []string{e.cfg.CNINetNSDir, intents} {
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
			t.Errorf("left in %s: %v", dir, left)
		}
	}
}
