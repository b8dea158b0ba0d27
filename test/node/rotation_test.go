package node

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// The kubelet rotates a chatty container's log (containerLogMaxSize 1Mi,
// containerLogMaxFiles 3, in the node's config): rotated files appear, no
// more than 3 files are kept, dockerlet writes on into the new file with no
// line lost or doubled at the boundary, and /containerLogs returns the
// newest lines.
func testLogRotation(t *testing.T, n *Node) {
	// ~120 bytes a line, 200 lines per 0.1 s at most: about 1 MiB every few
	// seconds without taking a core.
	script := `pad=$(printf '%0100d' 0); i=0; while :; do i=$((i+1)); echo "rot $i $pad"; if [ $((i % 200)) -eq 0 ]; then sleep 0.1; fi; done`
	p := newPod("dlnode-rotate", v1.RestartPolicyAlways, busybox("c", script))
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	full := n.fullName(p.Name)

	var dir string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		dirs, _ := filepath.Glob(filepath.Join(n.PodLogsDir, namespace+"_"+full+"_*", "c"))
		if len(dirs) == 1 {
			dir = dirs[0]
			if rotated, _ := logFiles(dir); len(rotated) >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			files, _ := os.ReadDir(dir)
			t.Fatalf("no two rotated logs in %q after 3m: %v", dir, names(files))
		}
		time.Sleep(time.Second)
	}

	// The boundary: the newest rotated (uncompressed) file ends right before
	// the live file begins. The kubelet may rotate again between the two
	// reads, so a mismatch is retried.
	var boundary error
	for range 10 {
		if boundary = checkBoundary(dir); boundary == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if boundary != nil {
		t.Errorf("rotation boundary: %v", boundary)
	}

	// /containerLogs serves the live file: its last line is newer than
	// anything rotated, and the file grows.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rotated, live := logFiles(dir)
	newestRotated, _ := lastLine(filepath.Join(dir, rotated[len(rotated)-1]))
	tail := must(n.logs(ctx, p.Name, "c", url.Values{"tailLines": {"1"}})).get(t)
	got := seqOf(tail)
	if got <= newestRotated {
		t.Errorf("/containerLogs tailLines=1 gave line %d (%q), not newer than the rotated file's last line %d", got, tail, newestRotated)
	}
	time.Sleep(2 * time.Second)
	after := must(n.logs(ctx, p.Name, "c", url.Values{"tailLines": {"1"}})).get(t)
	if seqOf(after) <= got {
		t.Errorf("the log stopped growing after rotation: line %d then %d", got, seqOf(after))
	}
	if live == "" {
		t.Errorf("no live log file in %s", dir)
	}
	files, _ := os.ReadDir(dir)
	var kept []string
	for _, f := range names(files) {
		if !strings.HasSuffix(f, ".tmp") {
			kept = append(kept, f)
		}
	}
	if len(kept) > 3 {
		t.Errorf("%d log files kept, containerLogMaxFiles is 3: %v", len(kept), kept)
	}
}

// logFiles returns the rotated files of a container's log directory in
// rotation order (oldest first) and the live file.
func logFiles(dir string) (rotated []string, live string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".log"):
			live = name
		case strings.Contains(name, ".log.") && !strings.HasSuffix(name, ".tmp"):
			rotated = append(rotated, name)
		}
	}
	// <n>.log.<timestamp>[.gz]: the timestamp orders them.
	sort.Slice(rotated, func(i, j int) bool {
		return strings.TrimSuffix(rotated[i], ".gz") < strings.TrimSuffix(rotated[j], ".gz")
	})
	return rotated, live
}

func checkBoundary(dir string) error {
	rotated, live := logFiles(dir)
	if len(rotated) == 0 || live == "" {
		return fmt.Errorf("files: %v, live %q", rotated, live)
	}
	newest := rotated[len(rotated)-1]
	if strings.HasSuffix(newest, ".gz") {
		return fmt.Errorf("newest rotated file %s is compressed", newest)
	}
	last, err := lastLine(filepath.Join(dir, newest))
	if err != nil {
		return err
	}
	first, err := firstLine(filepath.Join(dir, live))
	if err != nil {
		return err
	}
	if first != last+1 {
		return fmt.Errorf("%s ends with line %d, %s starts with line %d", newest, last, live, first)
	}
	return nil
}

// seqOf parses "rot <i> ..." from a CRI log record or a plain line.
func seqOf(line string) int {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "rot" {
			n, _ := strconv.Atoi(f[i+1])
			return n
		}
	}
	return -1
}

func firstLine(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if sc.Scan() {
		return seqOf(sc.Text()), nil
	}
	return 0, fmt.Errorf("%s: empty", path)
}

func lastLine(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return seqOf(lines[len(lines)-1]), nil
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
