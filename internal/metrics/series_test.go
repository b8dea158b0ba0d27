package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A fresh server shows its build and every error series at zero, before
// anything failed.
func TestSeriesFromTheStart(t *testing.T) {
	m := New("v1.2.3")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, re := range []string{
		`(?m)^dockerlet_build_info\{goarch="[a-z0-9]+",goos="linux",goversion="go[^"]+",version="v1\.2\.3"\} 1$`,
		`(?m)^dockerlet_docker_operation_errors_total\{kind="timeout",operation="PullImage"\} 0$`,
		`(?m)^dockerlet_docker_operation_errors_total\{kind="other",operation="CreateContainer"\} 0$`,
		`(?m)^dockerlet_docker_operation_timeouts_total\{operation="InspectContainer"\} 0$`,
		`(?m)^dockerlet_image_pulls_total\{outcome="registry_unavailable"\} 0$`,
		`(?m)^dockerlet_cache_resyncs_total\{reason="reconnect",result="error"\} 0$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	if n, want := testutil.CollectAndCount(m.dockerErrors), len(engineOperations())*(len(errorKinds)+1); n != want {
		t.Errorf("%d docker error series at start, want %d", n, want)
	}
	if n := testutil.CollectAndCount(m.dockerTimeouts); n != len(engineOperations()) {
		t.Errorf("%d timeout series at start, want one per operation", n)
	}
}

// The operation labels initialised at zero are the ones the instrumented
// engine records: each name it passes is one of the engine's methods.
func TestOperationsAreEngineMethods(t *testing.T) {
	src, err := os.ReadFile("engine.go")
	if err != nil {
		t.Fatal(err)
	}
	ops := engineOperations()
	seen := 0
	for _, mm := range regexp.MustCompile(`done\("(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		seen++
		if !slices.Contains(ops, mm[1]) {
			t.Errorf("operation %q is not an engine method; its series would not start at zero", mm[1])
		}
	}
	if seen < 10 {
		t.Fatalf("found %d recorded operations in engine.go", seen)
	}
}

// CNI operations: ok and error series from the start, then counted and
// timed as the network plugin reports them.
func TestCNIOperations(t *testing.T) {
	m := New("v1")
	for _, op := range []string{"add", "del"} {
		for _, result := range []string{"ok", "error"} {
			if v := testutil.ToFloat64(m.cni.ops.WithLabelValues(op, result)); v != 0 {
				t.Errorf("%s/%s at start: %v", op, result, v)
			}
		}
	}
	if n := testutil.CollectAndCount(m.cni.ops); n != 4 {
		t.Errorf("%d cni operation series at start, want 4", n)
	}
	m.CNIOperation("add", 30*time.Millisecond, nil)
	m.CNIOperation("add", time.Second, errors.New("plugin failed"))
	m.CNIOperation("del", time.Millisecond, nil)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, re := range []string{
		`(?m)^dockerlet_cni_operations_total\{op="add",result="ok"\} 1$`,
		`(?m)^dockerlet_cni_operations_total\{op="add",result="error"\} 1$`,
		`(?m)^dockerlet_cni_operations_total\{op="del",result="ok"\} 1$`,
		`(?m)^dockerlet_cni_operations_total\{op="del",result="error"\} 0$`,
		`(?m)^dockerlet_cni_operation_duration_seconds_count\{op="add"\} 2$`,
		`(?m)^dockerlet_cni_operation_duration_seconds_bucket\{op="add",le="0\.05"\} 1$`,
		`(?m)^dockerlet_cni_operation_duration_seconds_sum\{op="del"\} 0\.001$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
}
