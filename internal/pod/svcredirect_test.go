package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"testing"
)

// The redirector enters a pod's namespace when its redirects change, not
// on every reload, and one that needs none only when its marker says it
// holds some (an earlier supervisor's, a Service removed); a failure is
// not retried until something changes.
func TestRedirectorSync(t *testing.T) {
	state := t.TempDir()
	for _, uid := range []string{"uid-web-0", "uid-other-0"} {
		if err := os.MkdirAll(PodDir(state, uid), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	r := newRedirector(nil, state, slog.New(slog.DiscardHandler))
	var calls []string
	fail := false
	r.pid = func(_ context.Context, id string) (int, error) { return len(id), nil }
	r.set = func(pid int, ip string, rules []Redirect) error {
		calls = append(calls, fmt.Sprintf("%d %s %v", pid, ip, rules))
		if fail {
			return errors.New("no nftables")
		}
		return nil
	}
	web := planEP("web-0", "10.0.0.1", true)
	hostnet := planEP("host-0", "192.168.1.5", true)
	hostnet.HostNetwork = true
	noIP := planEP("new-0", "", false)
	plan := ServicePlan{Redirects: map[string]PodRedirects{"uid-web-0": {UID: "uid-web-0", Rules: []Redirect{{"TCP", 80, 8080}}}}}
	ctx := context.Background()
	step := func(plan ServicePlan, eps []Endpoint, want ...string) {
		t.Helper()
		calls = nil
		r.sync(ctx, plan, eps)
		if !reflect.DeepEqual(calls, want) {
			t.Fatalf("calls %q, want %q", calls, want)
		}
	}
	other := planEP("other-0", "10.0.0.2", true)
	// A pod that needs no redirect and holds none is never entered.
	step(plan, []Endpoint{web, hostnet, noIP, other}, "8 10.0.0.1 [{TCP 80 8080}]")
	step(plan, []Endpoint{web, hostnet, noIP, other}) // unchanged: nothing
	// A new supervisor (nothing in memory) finds the marker: the Service
	// went meanwhile, the table is removed, and the marker with it.
	r.done = map[string]string{}
	step(ServicePlan{}, []Endpoint{web, other}, "8 10.0.0.1 []")
	if _, err := os.Stat(PodDir(state, "uid-web-0") + "/service-redirects"); !os.IsNotExist(err) {
		t.Fatalf("marker left: %v", err)
	}
	r.done = map[string]string{}
	step(ServicePlan{}, []Endpoint{web, other})
	// A new sandbox (re-created pod sandbox) starts clean: a marker of
	// the old one is not entered for.
	step(plan, []Endpoint{web}, "8 10.0.0.1 [{TCP 80 8080}]")
	web.SandboxID = "sb-web-0-again"
	step(ServicePlan{}, []Endpoint{web})
	step(plan, []Endpoint{web}, "14 10.0.0.1 [{TCP 80 8080}]")
	step(ServicePlan{}, []Endpoint{web}, "14 10.0.0.1 []")
	// A failure is said once, not retried on every reload.
	fail = true
	step(plan, []Endpoint{web}, "14 10.0.0.1 [{TCP 80 8080}]")
	step(plan, []Endpoint{web})
	// A pod that left is forgotten: seen again, it is entered again.
	fail = false
	step(plan, nil)
	step(plan, []Endpoint{web}, "14 10.0.0.1 [{TCP 80 8080}]")
}
