package security

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/test/serveproc"
)

// The flooder is this test binary run again as another user: FLOOD_HELPER
// names the addresses ("tcp:host:port" or "unix:path", comma-separated),
// FLOOD_HELPER_N the connections per address, FLOOD_HELPER_WAIT how long
// it waits for the server to close them.
const (
	floodUID     = 65534 // nobody
	floodMaxWait = 2 * time.Minute
)

// floodResult is what the flooder saw on one address.
type floodResult struct {
	addr      string
	opened    int
	dialErrs  int
	firstErr  string
	closed    int           // closed by the server before the wait ended
	lastClose time.Duration // when the last of them was closed, from the flood's start
}

func (r floodResult) String() string {
	s := fmt.Sprintf("%s: %d opened, %d refused at connect", r.addr, r.opened, r.dialErrs)
	if r.firstErr != "" {
		s += " (" + r.firstErr + ")"
	}
	return s + fmt.Sprintf(", %d closed by the server, the last after %v, %d still open", r.closed, r.lastClose.Round(100*time.Millisecond), r.opened-r.closed)
}

// TestFloodHelper is the flooder's body; it does nothing in a normal run.
func TestFloodHelper(t *testing.T) {
	addrs := os.Getenv("FLOOD_HELPER")
	if addrs == "" {
		t.Skip("the flooder of TestIdleFloodByAnotherUser")
	}
	n, _ := strconv.Atoi(os.Getenv("FLOOD_HELPER_N"))
	wait, _ := time.ParseDuration(os.Getenv("FLOOD_HELPER_WAIT"))
	start := time.Now()
	var results []*floodResult
	var watches []func() (int, time.Duration)
	for _, a := range strings.Split(addrs, ",") {
		network, addr, _ := strings.Cut(a, ":")
		r := &floodResult{addr: a}
		results = append(results, r)
		var conns []net.Conn
		for i := range n {
			c, err := net.DialTimeout(network, addr, 5*time.Second)
			if err != nil {
				r.dialErrs++
				if r.firstErr == "" {
					r.firstErr = err.Error()
				}
				continue
			}
			// Every other one asks for an unknown URL (404) and stays.
			if network == "tcp" && i%2 == 1 {
				_, _ = io.WriteString(c, "GET /exec/nosuchtoken HTTP/1.1\r\nHost: x\r\n\r\n")
			}
			conns = append(conns, c)
		}
		r.opened = len(conns)
		watches = append(watches, watchClose(conns, start, wait))
	}
	fmt.Println("FLOOD-READY")
	for i, r := range results {
		r.closed, r.lastClose = watches[i]()
		fmt.Printf("FLOOD %s %d %d %d %d %q\n", r.addr, r.opened, r.dialErrs, r.closed, r.lastClose, r.firstErr)
	}
}

// watchClose starts watching conns at once: the function it returns
// waits until the server closed them all or wait (from start) ended, and
// says how many it closed and when the last of them. (Watching from the
// start matters: a connection closed while the test was busy elsewhere
// counts with its own time, whatever the machine's load.)
func watchClose(conns []net.Conn, start time.Time, wait time.Duration) func() (closed int, last time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	closed, last := 0, time.Duration(0)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(start.Add(wait))
			_, err := io.Copy(io.Discard, c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return // still open
			}
			mu.Lock()
			closed++
			last = max(last, time.Since(start))
			mu.Unlock()
		}()
	}
	return func() (int, time.Duration) {
		wg.Wait()
		return closed, last
	}
}

// startFlooder runs the flooder as the unprivileged user against addrs and
// returns once its connections are open; wait gives its results.
func startFlooder(t *testing.T, addrs []string, n int) (wait func() []floodResult) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary sits in a directory only root can read: a copy the
	// other user can run.
	dir, err := os.MkdirTemp("/tmp/dltrob", "flood-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "flooder")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^TestFloodHelper$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLOOD_HELPER="+strings.Join(addrs, ","), "FLOOD_HELPER_N="+strconv.Itoa(n), "FLOOD_HELPER_WAIT="+floodMaxWait.String(), "HOME="+dir, "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: floodUID, Gid: floodUID}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "FLOOD-READY" {
	}
	return func() []floodResult {
		var rs []floodResult
		for sc.Scan() {
			var r floodResult
			var last int64
			if _, err := fmt.Sscanf(sc.Text(), "FLOOD %s %d %d %d %d %q", &r.addr, &r.opened, &r.dialErrs, &r.closed, &last, &r.firstErr); err == nil {
				r.lastClose = time.Duration(last)
				rs = append(rs, r)
			}
		}
		_ = cmd.Wait()
		return rs
	}
}

// TestIdleFloodByAnotherUser measures the listeners' bar with the
// server's default limits: another (unprivileged) user holds
// FLOOD_CONNECTIONS idle connections on each of the streaming, metrics
// and pprof ports and tries as many on the CRI socket, while root holds
// as many raw connections on the CRI socket; Version and a whole pod
// lifecycle must succeed meanwhile, every flood connection must be closed
// by the server within 2 minutes, and the server's memory and open files
// must come back. It logs the figures. Opt-in (FLOOD_CONNECTIONS, e.g.
// 1000): it takes over a minute.
func TestIdleFloodByAnotherUser(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FLOOD_CONNECTIONS"))
	if n <= 0 {
		t.Skip("FLOOD_CONNECTIONS unset (docs/robustness.md: 1000)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (the flood runs as another user)")
	}
	streamAddr, metricsAddr, pprofAddr := serveproc.FreeAddr(t), serveproc.FreeAddr(t), serveproc.FreeAddr(t)
	e := newEnvWith(t, "", "", func(o *serveproc.Options) {
		o.Args = []string{"--streaming-bind-addr", streamAddr, "--metrics-bind-addr", metricsAddr, "--debug-pprof-addr", pprofAddr}
	})
	ctx := e.ctx
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.busybox}}); err != nil {
		t.Fatal(err)
	}
	podLifecycle(ctx, t, e, "warm")
	before, err := serveproc.ReadGauges(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before the flood: %v", before)

	start := time.Now()
	wait := startFlooder(t, []string{"tcp:" + streamAddr, "tcp:" + metricsAddr, "tcp:" + pprofAddr, "unix:" + e.srv.Socket}, n)
	var raw []net.Conn
	rawErrs := 0
	for range n {
		c, err := net.DialTimeout("unix", e.srv.Socket, 5*time.Second)
		if err != nil {
			rawErrs++
			continue
		}
		defer c.Close()
		raw = append(raw, c)
	}
	rawWatch := watchClose(raw, start, floodMaxWait)
	t.Logf("flood in place after %v: %d connections from uid %d on each of 4 addresses, %d raw CRI connections from root (%d failed)",
		time.Since(start).Round(time.Millisecond), n, floodUID, len(raw), rawErrs)

	// The server's figures while the flood is on, every second (the
	// metrics listener itself is flooded: a refused scrape is skipped).
	peak := before
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if g, err := serveproc.ReadGauges(metricsAddr); err == nil && g.RSS > 0 {
				peak.RSS, peak.OpenFiles, peak.Goroutines = max(peak.RSS, g.RSS), max(peak.OpenFiles, g.OpenFiles), max(peak.Goroutines, g.Goroutines)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(time.Second):
			}
		}
	}()

	t0 := time.Now()
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version during the flood: %v", err)
	}
	// A new client too (the kubelet reconnects): the flood must not take
	// the CRI socket's places.
	conn, err := e.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version on a new connection during the flood: %v", err)
	}
	podLifecycle(ctx, t, e, "flood")
	t.Logf("Version (existing and new connection) and a pod lifecycle during the flood: OK in %v", time.Since(t0).Round(time.Millisecond))

	results := wait()
	rawClosed, rawLast := rawWatch()
	close(stopSampling)
	<-sampled
	for _, r := range results {
		t.Logf("uid %d flood: %v", floodUID, r)
		if r.opened > r.closed {
			t.Errorf("%s: %d connections still open after %v", r.addr, r.opened-r.closed, floodMaxWait)
		}
		if strings.HasPrefix(r.addr, "unix:") && r.opened > 0 {
			t.Errorf("%s: the other user connected to the CRI socket", r.addr)
		}
	}
	if len(results) != 4 {
		t.Errorf("flooder results: %d of 4", len(results))
	}
	t.Logf("root raw CRI connections: %d of %d closed by the server, the last after %v", rawClosed, len(raw), rawLast.Round(100*time.Millisecond))
	if rawClosed < len(raw) {
		t.Errorf("%d raw CRI connections still open after %v", len(raw)-rawClosed, floodMaxWait)
	}
	if _, err := e.rt.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version after the flood: %v", err)
	}
	time.Sleep(5 * time.Second)
	after, err := serveproc.ReadGauges(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak during the flood: %v; after: %v", peak, after)
	// Every listener's cap is small (256, 16, 4, 1024 without a handshake):
	// what one connection costs the server is bounded by them.
	if grew := peak.RSS - before.RSS; grew > 64<<20 {
		t.Errorf("RSS grew by %.1f MiB during the flood", grew/(1<<20))
	}
	if after.OpenFiles > before.OpenFiles+16 {
		t.Errorf("open files: %v before, %v after the flood", before.OpenFiles, after.OpenFiles)
	}
	log, _ := os.ReadFile(e.srv.LogPath)
	if strings.Contains(string(log), "too many open files") {
		t.Errorf("the server ran out of file descriptors:\n%s", grepLines(string(log), "too many open files", 5))
	}
}
