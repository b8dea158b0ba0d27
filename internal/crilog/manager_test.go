package crilog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// fakeDocker mimics Docker's log endpoint for one container: messages with
// timestamps, Since filtering (>=), following while running, stdcopy frames
// (or raw for TTY). breakStreams cuts every open stream, as a dockerd
// restart would.
type fakeDocker struct {
	mu      sync.Mutex
	cond    *sync.Cond
	msgs    []fakeMsg
	running bool
	tty     bool
	epoch   int // bumped by breakStreams
	calls   int
	// lagging inspects still answer "running" after the exit, as a cache
	// that has not yet seen it does.
	lagging int
	clock   time.Time
	step    time.Duration // between messages that do not share a timestamp
}

type fakeMsg struct {
	t       time.Time
	stream  string
	payload string // with "\n" unless partial
}

func newFakeDocker() *fakeDocker {
	d := &fakeDocker{running: true, clock: time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC), step: 10 * time.Millisecond}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// log appends a message; sameTime reuses the last timestamp.
func (d *fakeDocker) log(stream, payload string, sameTime bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !sameTime {
		d.clock = d.clock.Add(d.step)
	}
	d.msgs = append(d.msgs, fakeMsg{d.clock, stream, payload})
	d.cond.Broadcast()
}

func (d *fakeDocker) exit() {
	d.mu.Lock()
	d.running = false
	d.cond.Broadcast()
	d.mu.Unlock()
}

func (d *fakeDocker) breakStreams() {
	d.mu.Lock()
	d.epoch++
	d.cond.Broadcast()
	d.mu.Unlock()
}

func (d *fakeDocker) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	if id != "c1" {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	running := d.running
	if !running && d.lagging > 0 {
		d.lagging--
		running = true
	}
	return &container.InspectResponse{
		State:  &container.State{Running: running},
		Config: &container.Config{Tty: d.tty},
	}, nil
}

func (d *fakeDocker) ContainerLogs(ctx context.Context, id string, opts engine.LogsOptions) (io.ReadCloser, error) {
	if id != "c1" {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	if !opts.Timestamps || !opts.Stdout || !opts.Stderr {
		return nil, fmt.Errorf("copier must ask for timestamps and both streams: %w", errdefs.ErrInvalidArgument)
	}
	var since time.Time
	if opts.Since != "" {
		sec, nsec, _ := strings.Cut(opts.Since, ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		n, err2 := strconv.ParseInt(nsec, 10, 64)
		if err1 != nil || err2 != nil || len(nsec) != 9 {
			return nil, fmt.Errorf("bad since %q: %w", opts.Since, errdefs.ErrInvalidArgument)
		}
		since = time.Unix(s, n)
	}
	d.mu.Lock()
	d.calls++
	epoch := d.epoch
	d.mu.Unlock()
	pr, pw := io.Pipe()
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	go func() {
		defer stop()
		bw := bufio.NewWriter(pw)
		i := 0
		for {
			d.mu.Lock()
			for i == len(d.msgs) && d.running && d.epoch == epoch && ctx.Err() == nil && opts.Follow {
				d.cond.Wait()
			}
			batch := d.msgs[i:]
			i = len(d.msgs)
			end := !d.running || d.epoch != epoch || ctx.Err() != nil || !opts.Follow
			broken := d.epoch != epoch
			tty := d.tty
			d.mu.Unlock()
			if broken {
				// Send half of what is pending and a torn frame, then die.
				batch = batch[:len(batch)/2]
			}
			for _, m := range batch {
				if m.t.Before(since) {
					continue
				}
				p := m.t.Format("2006-01-02T15:04:05.000000000Z07:00") + " " + m.payload
				if tty {
					bw.WriteString(p)
					continue
				}
				bw.Write(frame(map[string]byte{Stdout: 1, Stderr: 2}[m.stream], p))
			}
			if broken && !tty {
				bw.Write(frame(1, "torn")[:6])
			}
			if err := bw.Flush(); err != nil {
				return
			}
			if end {
				pw.Close()
				return
			}
		}
	}()
	return pr, nil
}

// readRecords parses every record of the given files, in order.
func readRecords(t *testing.T, paths ...string) []Record {
	t.Helper()
	var out []Record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l == "" {
				continue
			}
			if !strings.HasSuffix(l, "\n") {
				t.Fatalf("%s: torn line %q", p, l)
			}
			r, err := ParseRecord([]byte(l))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			r.Content = append([]byte(nil), r.Content...)
			out = append(out, r)
		}
	}
	return out
}

func quickManager(d *fakeDocker) *Manager { return newManager(d, nil) }

func TestManagerCopiesBothStreams(t *testing.T) {
	d := newFakeDocker()
	d.log(Stdout, "hello\n", false)
	d.log(Stderr, "oops\n", true)
	d.log(Stdout, strings.Repeat("x", MaxRecordContent+5)+"\n", false)
	d.log(Stdout, "par", false)
	d.log(Stdout, "tial\n", false)
	path := filepath.Join(t.TempDir(), "logs", "c1.log")
	m := quickManager(d)
	defer m.Close()
	ctx := context.Background()
	if err := m.Start(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, "c1", path); err != nil { // idempotent
		t.Fatal(err)
	}
	d.log(Stderr, "after start\n", false)
	d.exit()
	if err := m.Drain(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	got := readRecords(t, path)
	want := []struct {
		stream  string
		partial bool
		content string
	}{
		{Stdout, false, "hello"}, {Stderr, false, "oops"},
		{Stdout, true, strings.Repeat("x", MaxRecordContent)}, {Stdout, false, "xxxxx"},
		{Stdout, true, "par"}, {Stdout, false, "tial"}, {Stderr, false, "after start"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Stream != w.stream || got[i].Partial != w.partial || string(got[i].Content) != w.content {
			t.Errorf("record %d = %s %v %.20q, want %s %v %.20q", i, got[i].Stream, got[i].Partial, got[i].Content, w.stream, w.partial, w.content)
		}
	}
	if err := m.Reopen(ctx, "c1"); !errdefs.IsNotFound(err) {
		t.Errorf("Reopen after exit: %v, want ErrNotFound", err)
	}
}

// An engine that learns of the exit a moment after the stream ended costs
// no stream that follows and ends at once: after the first retry's pause
// the copier looks again, and one catch-up pass is all it opens.
func TestCopierLooksAgainBeforeFollowing(t *testing.T) {
	d := newFakeDocker()
	d.log(Stdout, "before\n", false)
	path := filepath.Join(t.TempDir(), "c1.log")
	m := quickManager(d)
	defer m.Close()
	ctx := context.Background()
	if err := m.Start(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	d.log(Stdout, "last\n", false)
	d.mu.Lock()
	calls := d.calls
	d.lagging = 1
	d.mu.Unlock()
	d.exit()
	if err := m.Drain(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	n := d.calls - calls
	d.mu.Unlock()
	if n != 1 {
		t.Errorf("%d log streams opened after the exit, want 1 (the catch-up)", n)
	}
	if got := readRecords(t, path); len(got) != 2 || string(got[1].Content) != "last" {
		t.Errorf("records %+v", got)
	}
}

func TestManagerStartErrors(t *testing.T) {
	m := quickManager(newFakeDocker())
	defer m.Close()
	ctx := context.Background()
	if err := m.Start(ctx, "nope", filepath.Join(t.TempDir(), "x.log")); !errdefs.IsNotFound(err) {
		t.Errorf("unknown container: %v", err)
	}
	if err := m.Start(ctx, "c1", ""); !errdefs.IsInvalidArgument(err) {
		t.Errorf("empty path: %v", err)
	}
	if err := m.Reopen(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("Reopen unknown: %v", err)
	}
	if err := m.Drain(ctx, "nope"); err != nil {
		t.Errorf("Drain unknown: %v", err)
	}
	m.Stop("nope")
}

func TestManagerTTY(t *testing.T) {
	d := newFakeDocker()
	d.tty = true
	d.log(Stdout, "prompt$ ls\r\n", false)
	d.log(Stdout, "no newline at exit", false)
	path := filepath.Join(t.TempDir(), "c1.log")
	m := quickManager(d)
	defer m.Close()
	if err := m.Start(context.Background(), "c1", path); err != nil {
		t.Fatal(err)
	}
	d.exit()
	m.Drain(context.Background(), "c1")
	got := readRecords(t, path)
	if len(got) != 2 || string(got[0].Content) != "prompt$ ls" || got[0].Partial || string(got[1].Content) != "no newline at exit" || !got[1].Partial {
		t.Errorf("records %+v", got)
	}
}

// TestManagerNoLossNoDup: many lines, several sharing a timestamp, with two
// reopens, a broken stream and a restart of the whole manager in between:
// every line exactly once, in order per stream.
func TestManagerNoLossNoDup(t *testing.T) {
	d := newFakeDocker()
	dir := t.TempDir()
	path := filepath.Join(dir, "c1.log")
	ctx := context.Background()
	next := 0
	logN := func(n int) {
		for i := 0; i < n; i++ {
			stream := Stdout
			if next%3 == 0 {
				stream = Stderr
			}
			// Runs of lines with one timestamp, and repeated contents.
			d.log(stream, fmt.Sprintf("line %d\n", next), next%4 != 0)
			if next%50 == 0 {
				d.log(stream, "same\n", true)
			}
			next++
		}
	}
	logN(500)
	m := quickManager(d)
	if err := m.Start(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	logN(500)
	waitRecords := func(paths ...string) func() bool {
		return func() bool { return len(readRecords(t, paths...)) > 0 }
	}
	waitFor(t, "records", waitRecords(path))
	os.Rename(path, path+".1")
	if err := m.Reopen(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	logN(500)
	d.breakStreams() // the copier must resume by itself
	logN(500)
	time.Sleep(200 * time.Millisecond)
	m.Close() // dockerlet stops…
	logN(500)
	os.Rename(path, path+".2") // …the kubelet rotates meanwhile…
	m = quickManager(d)        // …and dockerlet starts again
	if err := m.Start(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	logN(500)
	waitFor(t, "records after restart", waitRecords(path))
	os.Rename(path, path+".3")
	if err := m.Reopen(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	logN(500)
	d.exit()
	if err := m.Drain(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	m.Close()

	recs := readRecords(t, path+".1", path+".2", path+".3", path)
	seen := map[string]int{}
	lastIdx := map[string]int{Stdout: -1, Stderr: -1}
	same := 0
	for _, r := range recs {
		c := string(r.Content)
		if c == "same" {
			same++
			continue
		}
		seen[c]++
		var i int
		fmt.Sscanf(c, "line %d", &i)
		if i <= lastIdx[r.Stream] {
			t.Errorf("%s out of order: %d after %d", r.Stream, i, lastIdx[r.Stream])
		}
		lastIdx[r.Stream] = i
	}
	for i := 0; i < next; i++ {
		if n := seen[fmt.Sprintf("line %d", i)]; n != 1 {
			t.Errorf("line %d seen %d times", i, n)
		}
	}
	if want := (next + 49) / 50; same != want {
		t.Errorf("repeated line seen %d times, want %d", same, want)
	}
	if d.calls < 3 {
		t.Errorf("only %d log calls: the broken stream was not resumed", d.calls)
	}
}

func TestManagerReplacesLegacySymlink(t *testing.T) {
	d := newFakeDocker()
	d.log(Stdout, "new\n", false)
	dir := t.TempDir()
	dockerJSON := filepath.Join(dir, "c1-json.log")
	const legacy = `{"log":"old\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(dockerJSON, []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c1.log")
	if err := os.Symlink(dockerJSON, path); err != nil {
		t.Fatal(err)
	}
	m := quickManager(d)
	defer m.Close()
	if err := m.Start(context.Background(), "c1", path); err != nil {
		t.Fatal(err)
	}
	d.exit()
	m.Drain(context.Background(), "c1")
	if b, _ := os.ReadFile(dockerJSON); string(b) != legacy {
		t.Errorf("Docker's JSON log was written to: %q", b)
	}
	if recs := readRecords(t, path); len(recs) != 1 || string(recs[0].Content) != "new" {
		t.Errorf("records %v", recs)
	}
}

// TestReopenLeavesOldFileAlone mirrors critest's "reopening container log":
// after rename + Reopen, new output goes to a new file at the path and the
// renamed one no longer changes.
func TestReopenLeavesOldFileAlone(t *testing.T) {
	d := newFakeDocker()
	dir := t.TempDir()
	path := filepath.Join(dir, "c1.log")
	m := quickManager(d)
	defer m.Close()
	ctx := context.Background()
	if err := m.Start(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	d.log(Stdout, "before\n", false)
	waitFor(t, "first record", func() bool { return len(readRecords(t, path)) == 1 })
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Reopen did not create a new file: %v", err)
	}
	d.log(Stdout, "after\n", false)
	waitFor(t, "record in the new file", func() bool { return len(readRecords(t, path)) == 1 })
	if old := readRecords(t, path+".old"); len(old) != 1 || string(old[0].Content) != "before" {
		t.Errorf("old file %v", old)
	}
	if recs := readRecords(t, path); string(recs[0].Content) != "after" {
		t.Errorf("new file %v", recs)
	}
}
