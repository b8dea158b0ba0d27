package node

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runtimeErrorPatterns are kubelet log lines that mean the runtime
// misbehaved: an error the runtime did not classify, a PLEG that falls
// behind or gets events it cannot use.
var runtimeErrorPatterns = []*regexp.Regexp{
	regexp.MustCompile(`code = Unknown`),
	regexp.MustCompile(`code = Internal`),
	regexp.MustCompile(`PLEG is not healthy`),
	regexp.MustCompile(`^[EW]\d{4} .*(?i:pleg)`),
	regexp.MustCompile(`Evented PLEG: (received ContainerEventResponse with nil|disabling)`),
	// The CRI client logs every failed call at error level; NotFound is a
	// legitimate answer for an object that just went away. Its lines are
	// known by their message: up to 1.33 at least the caller is the
	// client's log.go, not remote_runtime.go.
	regexp.MustCompile(`^E\d{4} .*(remote_(runtime|image)\.go|"[^"]* from (runtime|image) service failed").*code = (Unknown|Internal|InvalidArgument|Unavailable|DeadlineExceeded|Unimplemented|FailedPrecondition|AlreadyExists)`),
}

// runtimeErrorAllowed are lines the patterns match that every kubelet
// prints whatever its runtime: before its first relist, a kubelet reports
// its PLEG as "yet to be successful" (a relist too slow says "was last seen
// active", which stays an error).
var runtimeErrorAllowed = []*regexp.Regexp{
	regexp.MustCompile(`"Skipping pod synchronization" err=".*PLEG is not healthy: pleg has yet to be successful`),
	// The kubelet rotates the logs of the containers a relist saw running;
	// one that exits before the reopen gets "not running" from any runtime
	// (containerd answers the same), and the kubelet retries next round.
	regexp.MustCompile(`"ReopenContainerLog from runtime service failed" err="rpc error: code = FailedPrecondition desc = container [0-9a-f]+ is not running`),
	// An exec probe that reaches a container as it exits: the container is
	// gone from under the probe on any runtime, and the kubelet counts a
	// failed probe and sees the exit on its next relist. Docker 29 reports
	// exits sooner, so the probe meets them there.
	regexp.MustCompile(`"ExecSync cmd from runtime service failed" err="rpc error: code = FailedPrecondition desc = (create exec in container [0-9a-f]+: .*)?container [0-9a-f]+ is not running`),
}

// checkKubeletLog fails the test for every kubelet log line that shows a
// runtime error, and for any CRI call dockerlet itself answered with
// Unknown or Internal (its metrics count them by code).
func checkKubeletLog(t *testing.T, path string) {
	t.Helper()
	checkLogFor(t, path, runtimeErrorPatterns)
}

// checkCgroupDriver checks that the kubelet took Docker's cgroup driver
// from dockerlet's RuntimeConfig (kubelets from 1.34 on always ask).
func checkCgroupDriver(t *testing.T, n *Node) {
	t.Helper()
	b, err := os.ReadFile(n.KubeletLog)
	if err != nil {
		t.Fatal(err)
	}
	want := `"Using cgroup driver setting received from the CRI runtime" cgroupDriver="` + n.CgroupDriver + `"`
	if !strings.Contains(string(b), want) {
		t.Errorf("kubelet log %s lacks %s", n.KubeletLog, want)
	}
}

// checkLogFor fails for every line of the kubelet log at path that matches
// one of patterns (and none of runtimeErrorAllowed).
func checkLogFor(t *testing.T, path string, patterns []*regexp.Regexp) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bad := runtimeErrors(string(b), patterns); len(bad) > 0 {
		t.Errorf("kubelet log %s shows %d runtime error line(s):\n%s", path, len(bad), strings.Join(bad[:min(len(bad), 30)], "\n"))
	}
}

// runtimeErrors returns the lines of log that match one of patterns and
// none of runtimeErrorAllowed.
func runtimeErrors(log string, patterns []*regexp.Regexp) []string {
	var bad []string
lines:
	for _, line := range strings.Split(log, "\n") {
		for _, re := range runtimeErrorAllowed {
			if re.MatchString(line) {
				continue lines
			}
		}
		for _, re := range patterns {
			if re.MatchString(line) {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}

// The checker itself: kubelet lines (shortened from real logs) that are
// and are not runtime errors.
func TestRuntimeErrorPatterns(t *testing.T) {
	for _, tc := range []struct {
		line string
		bad  bool
	}{
		{`E1126 23:50:45.875330   30589 remote_runtime.go:724] "ExecSync cmd from runtime service failed" err="rpc error: code = Unknown desc = boom"`, true},
		{`E1126 23:50:45.875330   30589 remote_runtime.go:724] "ExecSync cmd from runtime service failed" err="rpc error: code = DeadlineExceeded desc = timed out"`, true},
		{`E1205 06:23:37.596233    8253 remote_runtime.go:1094] "ReopenContainerLog from runtime service failed" err="rpc error: code = FailedPrecondition desc = container a6a1c42a84cc is not running: failed precondition" containerID="a6a1c42a84cc"`, false},
		{`E1205 06:23:37.596233    8253 remote_runtime.go:1094] "ReopenContainerLog from runtime service failed" err="rpc error: code = Internal desc = reopen: boom" containerID="a6a1c42a84cc"`, true},
		{`E1205 11:25:31.097748   25508 remote_runtime.go:724] "ExecSync cmd from runtime service failed" err="rpc error: code = FailedPrecondition desc = container eb183fbadba7 is not running: failed precondition" containerID="eb183fbadba7" cmd=["test","-f","/tmp/ready"]`, false},
		{`E1205 11:25:31.095754   25508 remote_runtime.go:724] "ExecSync cmd from runtime service failed" err="rpc error: code = FailedPrecondition desc = create exec in container eb183fbadba7: create exec in eb183fbadba7: Error response from daemon: container eb183fbadba7 is not running" containerID="eb183fbadba7"`, false},
		{`E1205 11:25:31.095754   25508 remote_runtime.go:724] "ExecSync cmd from runtime service failed" err="rpc error: code = FailedPrecondition desc = exec: boom" containerID="eb183fbadba7"`, true},
		{`E1126 23:44:05.407158   25260 remote_runtime.go:657] "ContainerStatus from runtime service failed" err="rpc error: code = Internal desc = x"`, true},
		{`I1126 23:44:05.407158   25260 kubelet.go:2697] "Skipping pod synchronization" err="[PLEG is not healthy: pleg was last seen active 3m0s ago; threshold is 3m0s]"`, true},
		{`W1126 23:44:05.407158   25260 generic.go:308] "GenericPLEG: Unable to retrieve pods" err="rpc error: code = Unavailable"`, true},
		{`E1126 23:44:05.407158   25260 evented.go:119] "Evented PLEG: received ContainerEventResponse with nil PodSandboxStatus or PodSandboxStatus.Metadata"`, true},
		{`E1126 23:43:39.368786   24221 kubelet.go:2697] "Skipping pod synchronization" err="[container runtime status check may not have completed yet, PLEG is not healthy: pleg has yet to be successful]"`, false},
		{`E1126 23:44:05.407158   25260 remote_runtime.go:657] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = container \"f9e6\": not found"`, false},
		// Kubelet 1.33's CRI client logs through its log.go.
		{`E1205 14:27:30.384137     223 log.go:32] "RunPodSandbox from runtime service failed" err="rpc error: code = FailedPrecondition desc = cgroup parent \"/kubepods/besteffort/pod1\" is a cgroupfs path"`, true},
		{`E1205 14:27:30.384137     223 log.go:32] "PullImage from image service failed" err="rpc error: code = Unavailable desc = x"`, true},
		{`E1205 06:23:37.596233    8253 log.go:32] "ReopenContainerLog from runtime service failed" err="rpc error: code = FailedPrecondition desc = container a6a1c42a84cc is not running: failed precondition" containerID="a6a1c42a84cc"`, false},
		{`E1205 14:27:30.384137     223 log.go:32] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = x"`, false},
		{`E1126 23:52:40.770954   27989 remote_runtime.go:280] "Version from runtime service failed" err="rpc error: code = Canceled desc = context canceled"`, false},
		{`I1126 23:44:06.554560   25260 generic.go:254] "GenericPLEG" podUID="afc8" containerID="f4b1" oldState="non-existent" newState="exited"`, false},
	} {
		if got := len(runtimeErrors(tc.line, runtimeErrorPatterns)) > 0; got != tc.bad {
			t.Errorf("runtime error = %v, want %v: %s", got, tc.bad, tc.line)
		}
	}
}

// dockerletMetrics reads dockerlet's Prometheus endpoint.
func (n *Node) dockerletMetrics(ctx context.Context) (string, error) {
	b, err := do(ctx, http.DefaultClient, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(n.MetricsPort)+"/metrics")
	return string(b), err
}

// checkDockerletCodes fails for CRI calls answered Unknown or Internal.
func checkDockerletCodes(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := n.dockerletMetrics(ctx)
	if err != nil {
		t.Errorf("dockerlet metrics: %v", err)
		return
	}
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "dockerlet_cri_requests_total{") &&
			(strings.Contains(line, `code="Unknown"`) || strings.Contains(line, `code="Internal"`)) {
			t.Errorf("dockerlet answered the kubelet with: %s", line)
		}
	}
}

// metricValue sums the samples of a series whose line starts with prefix.
func metricValue(text, prefix string) (float64, bool) {
	var sum float64
	found := false
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}
