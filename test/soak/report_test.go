package soak

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dockerlet/dockerlet/test/serveproc"
)

// tally counts answers by RPC and code, and keeps the poll latencies.
type tally struct {
	mu      sync.Mutex
	byCode  map[string]int
	bad     []string
	polls   []time.Duration
	churned int
}

func (t *tally) add(rpc string, err error, notFoundOK bool) {
	code := status.Code(err)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byCode[rpc+" "+code.String()]++
	if code != codes.OK && !(code == codes.NotFound && notFoundOK) && len(t.bad) < 50 {
		t.bad = append(t.bad, fmt.Sprintf("%s %s: %v", time.Now().Format(time.TimeOnly), rpc, err))
	}
}

func (t *tally) percentile(p float64) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.polls) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), t.polls...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// settle measures the server at rest, between phases (the poller and the
// churn are stopped): every figure compared is taken the same way.
func settle(t *testing.T, addr string) serveproc.Gauges {
	t.Helper()
	time.Sleep(15 * time.Second)
	// Three readings; the smallest of each (a reading catches the server
	// mid-GC or mid-call now and then).
	var best serveproc.Gauges
	for i := range 3 {
		g, err := serveproc.ReadGauges(addr)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || g.RSS < best.RSS {
			best.RSS = g.RSS
		}
		if i == 0 || g.OpenFiles < best.OpenFiles {
			best.OpenFiles = g.OpenFiles
		}
		if i == 0 || g.Goroutines < best.Goroutines {
			best.Goroutines = g.Goroutines
		}
		time.Sleep(2 * time.Second)
	}
	return best
}

func (s *soak) report(pods int, duration, churn time.Duration, idle, base, end, gone serveproc.Gauges) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods, poll every 1 s (relist + every status + stats), a pod replaced every %v, %v (after warm-up); %d pods replaced\n\n",
		pods, churn, duration, s.tally.churned)
	fmt.Fprintf(&b, "| when | RSS (MiB) | open files | goroutines |\n|---|---|---|---|\n")
	for _, r := range []struct {
		name string
		g    serveproc.Gauges
	}{{"no pods yet", idle}, {"after warm-up", base}, {"after the run", end}, {"all pods removed", gone}} {
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %.0f |\n", r.name, r.g.RSS/(1<<20), r.g.OpenFiles, r.g.Goroutines)
	}
	fmt.Fprintf(&b, "\npoll (one second's calls): p50 %v, p99 %v, max %v\n\n", s.tally.percentile(0.5).Round(time.Millisecond),
		s.tally.percentile(0.99).Round(time.Millisecond), s.tally.percentile(1).Round(time.Millisecond))
	keys := make([]string, 0, len(s.tally.byCode))
	for k := range s.tally.byCode {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("| call | code | count |\n|---|---|---|\n")
	for _, k := range keys {
		rpc, code, _ := strings.Cut(k, " ")
		fmt.Fprintf(&b, "| %s | %s | %d |\n", rpc, code, s.tally.byCode[k])
	}
	fmt.Fprintf(&b, "\nunexpected answers: %d\n", len(s.tally.bad))
	return b.String()
}
