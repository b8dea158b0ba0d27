package stats

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDu(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": string(make([]byte, 10000)), "sub/b": "x"})
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "a-link")); err != nil {
		t.Fatal(err)
	}
	bytes, inodes, err := du(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// dir, sub, a (linked twice, counted once), sub/b.
	if inodes != 4 {
		t.Errorf("inodes = %d, want 4", inodes)
	}
	if bytes < 10000 {
		t.Errorf("bytes = %d, want at least the 10000 written", bytes)
	}
	if _, _, err := du(filepath.Join(dir, "nope"), nil); !os.IsNotExist(err) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestLayerCache(t *testing.T) {
	l := newLayerCache(nil)
	defer l.close()
	clock := time.Unix(1000, 0)
	l.mu.Lock()
	l.now = func() time.Time { return clock }
	l.mu.Unlock()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"f": "hello"})
	// The first call returns at once with nothing measured yet.
	if b, i := l.get(dir); b != 0 || i != 0 {
		t.Fatalf("first get = %d, %d", b, i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, i := l.get(dir); i == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("walker never measured the layer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A new file shows up only after the refresh interval.
	writeFiles(t, dir, map[string]string{"g": "more"})
	time.Sleep(50 * time.Millisecond)
	if _, i := l.get(dir); i != 2 {
		t.Errorf("re-walked before the refresh interval: %d inodes", i)
	}
}

func TestImageFsInfo(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "overlay2", "l1", "diff"), 0o755)
	c := newCollector("cgroupfs", root, t.TempDir(), &cgroupV2{root: t.TempDir()}, nil)
	defer c.Close()
	resp, err := c.ImageFsInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ImageFilesystems) != 1 || len(resp.ContainerFilesystems) != 1 {
		t.Fatalf("resp %v", resp)
	}
	u := resp.ImageFilesystems[0]
	if u.FsId.GetMountpoint() != filepath.Join(root, "overlay2") || u.UsedBytes.GetValue() == 0 || u.InodesUsed.GetValue() == 0 || u.Timestamp == 0 {
		t.Errorf("usage %v", u)
	}
	if got := c.fs.storageDir(filepath.Join(root, "overlay2", "l1", "diff")); got != filepath.Join(root, "overlay2") {
		t.Errorf("storageDir = %q", got)
	}
	if got := c.fs.storageDir("/elsewhere/x/diff"); got != filepath.Join(root, "overlay2") {
		t.Errorf("storageDir outside root = %q", got)
	}
}

func TestParseNetDev(t *testing.T) {
	ifs, err := parseNetDev([]byte(netDev))
	if err != nil || len(ifs) != 1 || ifs[0].name != "eth0" || ifs[0].rxPackets != 60 || ifs[0].rxDrops != 2 || ifs[0].txBytes != 1234 || ifs[0].txDrops != 4 {
		t.Errorf("parseNetDev = %+v, %v", ifs, err)
	}
	if _, err := parseNetDev([]byte("eth0: 1 2 3\n")); err == nil {
		t.Error("short line accepted")
	}
}
