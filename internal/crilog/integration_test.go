package crilog_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/crilog"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
	"github.com/dockerlet/dockerlet/internal/testutil"
)

// prefix marks everything these tests create on the shared daemon.
const prefix = "dltlog"

var seq atomic.Int64

func connect(t *testing.T) *engine.Client { return enginetest.Connect(t, engine.Options{}) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// busybox pushes the test image to a local registry and pulls it.
func busybox(t *testing.T, c *engine.Client) string {
	t.Helper()
	reg := testutil.StartRegistry(t)
	marker := fmt.Sprintf("%d-%d", time.Now().UnixNano()%1e6, seq.Add(1))
	ref := reg.PushBusybox(t, prefix+"/busybox:"+marker, testutil.ImageOptions{Marker: prefix + "-" + marker})
	if err := c.PullImage(testCtx(t), ref, engine.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	t.Cleanup(func() { _, _ = c.RemoveImage(context.Background(), ref, engine.ImageRemoveOptions{Force: true}) })
	return ref
}

// run creates and starts a container; it is removed when the test ends.
func run(t *testing.T, c *engine.Client, image string, tty bool, cmd ...string) string {
	t.Helper()
	ctx := testCtx(t)
	name := fmt.Sprintf("%s-%s-%d", prefix, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), seq.Add(1))
	id, err := c.CreateContainer(ctx, engine.CreateSpec{
		Name:       name,
		Config:     &container.Config{Image: image, Cmd: cmd, Tty: tty},
		HostConfig: &container.HostConfig{LogConfig: container.LogConfig{Type: "json-file"}},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = c.RemoveContainer(context.Background(), id, engine.RemoveOptions{Force: true}) })
	if err := c.StartContainer(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	return id
}

type rec struct {
	stream, content string
	partial         bool
}

func records(t *testing.T, paths ...string) []rec {
	t.Helper()
	var out []rec
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r, err := crilog.ParseRecord(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if len(r.Content) > crilog.MaxRecordContent {
				t.Fatalf("%s: record of %d bytes", p, len(r.Content))
			}
			out = append(out, rec{r.Stream, string(r.Content), r.Partial})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func countRecords(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHundredThousandLines: a container writes 100 000 lines on each stream
// at full speed; meanwhile the log is rotated twice (rename + Reopen) and
// dockerlet restarts (a new Manager on the same path). Every line must be in
// the files exactly once, in order per stream.
func TestHundredThousandLines(t *testing.T) {
	eng := connect(t)
	img := busybox(t, eng)
	const n = 100000
	ctx := testCtx(t)
	id := run(t, eng, img, false, "sh", "-c", fmt.Sprintf("seq 1 %d | while read i; do echo o$i; echo e$i >&2; done", n))
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")

	m := crilog.NewManager(eng, nil)
	if err := m.Start(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "first records", func() bool { return countRecords(path) > 20000 })
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "records after the first reopen", func() bool { return countRecords(path) > 20000 })
	m.Close() // dockerlet stops…
	m = crilog.NewManager(eng, nil)
	if err := m.Start(ctx, id, path); err != nil { // …and starts again
		t.Fatal(err)
	}
	waitUntil(t, "records after the restart", func() bool { return countRecords(path) > 60000 })
	if err := os.Rename(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(ctx, id); err != nil {
		t.Fatal(err)
	}
	drainCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Drain returns once the container exited and everything is written.
	if err := m.Drain(drainCtx, id); err != nil {
		t.Fatal(err)
	}
	m.Close()

	recs := records(t, path+".1", path+".2", path)
	last := map[string]int{crilog.Stdout: 0, crilog.Stderr: 0}
	count := map[string]int{}
	for _, r := range recs {
		if r.partial {
			t.Fatalf("unexpected partial record %v", r)
		}
		want := map[string]string{crilog.Stdout: "o", crilog.Stderr: "e"}[r.stream]
		i, err := strconv.Atoi(strings.TrimPrefix(r.content, want))
		if err != nil || !strings.HasPrefix(r.content, want) {
			t.Fatalf("odd record %v", r)
		}
		if i != last[r.stream]+1 {
			t.Fatalf("%s: line %d follows %d (lost or duplicated)", r.stream, i, last[r.stream])
		}
		last[r.stream] = i
		count[r.stream]++
	}
	if count[crilog.Stdout] != n || count[crilog.Stderr] != n {
		t.Fatalf("got %d stdout and %d stderr lines, want %d each", count[crilog.Stdout], count[crilog.Stderr], n)
	}
	t.Logf("files: %d, %d, %d records", countRecords(path+".1"), countRecords(path+".2"), countRecords(path))
}

func TestLongLinesAndStreams(t *testing.T) {
	eng := connect(t)
	img := busybox(t, eng)
	ctx := testCtx(t)
	// 40 000 bytes without newline become several records that join up.
	id := run(t, eng, img, false, "sh", "-c", "echo hello; echo oops >&2; head -c 40000 /dev/zero | tr '\\0' a; echo; printf 'no newline at exit'")
	path := filepath.Join(t.TempDir(), "c.log")
	m := crilog.NewManager(eng, nil)
	defer m.Close()
	if err := m.Start(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	if err := m.Drain(ctx, id); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if err := crilog.ReadLog(ctx, path, crilog.ReadOptions{Tail: crilog.AllLines}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	// Docker keeps output that ends without a newline partial; so does the
	// CRI file (a P record), and readers print it as it was written.
	want := "hello\n" + strings.Repeat("a", 40000) + "\nno newline at exit"
	if out.String() != want {
		t.Errorf("stdout: got %d bytes %.40q…, want %d bytes", out.Len(), out.String(), len(want))
	}
	if errb.String() != "oops\n" {
		t.Errorf("stderr %q", errb.String())
	}
	recs := records(t, path)
	partials := 0
	for _, r := range recs {
		if r.partial {
			partials++
		}
	}
	if partials < 2 {
		t.Errorf("a 40000-byte line gave %d partial records, want ≥ 2", partials)
	}
	// Start again on an exited container: resumes, writes nothing twice.
	before := countRecords(path)
	if err := m.Start(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	if err := m.Drain(ctx, id); err != nil {
		t.Fatal(err)
	}
	if after := countRecords(path); after != before {
		t.Errorf("restarted copier changed the log: %d → %d records", before, after)
	}
}

func TestTTY(t *testing.T) {
	eng := connect(t)
	img := busybox(t, eng)
	ctx := testCtx(t)
	id := run(t, eng, img, true, "sh", "-c", "echo one; echo two >&2; head -c 40000 /dev/zero | tr '\\0' a; echo")
	path := filepath.Join(t.TempDir(), "c.log")
	m := crilog.NewManager(eng, nil)
	defer m.Close()
	if err := m.Start(ctx, id, path); err != nil {
		t.Fatal(err)
	}
	if err := m.Drain(ctx, id); err != nil {
		t.Fatal(err)
	}
	recs := records(t, path)
	if len(recs) < 3 || recs[0] != (rec{crilog.Stdout, "one", false}) || recs[1] != (rec{crilog.Stdout, "two", false}) {
		t.Fatalf("TTY records %.200v", recs)
	}
	// Docker cuts the long line into 16 KiB messages; in a TTY's raw stream
	// they arrive glued and must come apart again.
	var out strings.Builder
	if err := crilog.ReadLog(ctx, path, crilog.ReadOptions{Tail: crilog.AllLines}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if want := "one\ntwo\n" + strings.Repeat("a", 40000) + "\n"; out.String() != want {
		t.Errorf("TTY log reads back as %d bytes %.80q…, want %d bytes", out.Len(), out.String(), len(want))
	}
}
