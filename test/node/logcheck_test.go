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
	// legitimate answer for an object that just went away.
	regexp.MustCompile(`^E\d{4} .*remote_(runtime|image)\.go.*code = (Unknown|Internal|InvalidArgument|Unavailable|DeadlineExceeded|Unimplemented|FailedPrecondition|AlreadyExists)`),
}

// runtimeErrorAllowed are lines the patterns match that every kubelet
// prints whatever its runtime: before its first relist, a kubelet reports
// its PLEG as "yet to be successful" (a relist too slow says "was last seen
// active", which stays an error).
var runtimeErrorAllowed = []*regexp.Regexp{
	regexp.MustCompile(`"Skipping pod synchronization" err=".*PLEG is not healthy: pleg has yet to be successful`),
}

// checkKubeletLog fails the test for every kubelet log line that shows a
// runtime error, and for any CRI call dockerlet itself answered with
// Unknown or Internal (its metrics count them by code).
func checkKubeletLog(t *testing.T, path string) {
	t.Helper()
	checkLogFor(t, path, runtimeErrorPatterns)
}

// checkLogFor fails for every line of the kubelet log at path that matches
// one of patterns (and none of runtimeErrorAllowed).
func checkLogFor(t *testing.T, path string, patterns []*regexp.Regexp) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
lines:
	for _, line := range strings.Split(string(b), "\n") {
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
	if len(bad) > 0 {
		t.Errorf("kubelet log %s shows %d runtime error line(s):\n%s", path, len(bad), strings.Join(bad[:min(len(bad), 30)], "\n"))
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
