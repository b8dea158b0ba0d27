package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
)

// The redirector enters a pod's namespace on first sight of its sandbox
// (to clear what an earlier supervisor left) and when its redirects
// change, not on every reload; a failure is not retried until something
// changes.
func TestRedirectorSync(t *testing.T) {
	r := newRedirector(nil, slog.New(slog.DiscardHandler))
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
	step(plan, []Endpoint{web, hostnet, noIP}, "8 10.0.0.1 [{TCP 80 8080}]")
	step(plan, []Endpoint{web, hostnet, noIP}) // unchanged: nothing
	// The Service goes: the table is removed.
	step(ServicePlan{}, []Endpoint{web}, "8 10.0.0.1 []")
	// A new sandbox (re-created pod sandbox): entered again.
	web.SandboxID = "sb-web-0-again"
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
