package stats

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
)

func TestFileCache(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "cg", "a"), filepath.Join(dir, "other", "b")
	writeFiles(t, dir, map[string]string{"cg/a": "1\n", "other/b": "2\n"})
	fc := newFileCache(1)
	defer fc.closeAll()

	if v, err := readUintCached(fc, a); err != nil || v != 1 {
		t.Fatalf("a = %d, %v", v, err)
	}
	if len(fc.entries) != 1 {
		t.Fatalf("%d entries, want a kept open", len(fc.entries))
	}
	// Rewritten in place: the kept descriptor sees the new content.
	writeFiles(t, dir, map[string]string{"cg/a": "7\n"})
	if v, _ := readUintCached(fc, a); v != 7 {
		t.Errorf("a after rewrite = %d, want 7", v)
	}
	// Over the budget: read without keeping.
	if v, err := readUintCached(fc, b); err != nil || v != 2 || len(fc.entries) != 1 {
		t.Errorf("b = %d, %v with %d entries", v, err, len(fc.entries))
	}
	if _, err := readUintCached(fc, filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	fc.forget(filepath.Join(dir, "cg"))
	if len(fc.entries) != 0 {
		t.Errorf("forget left %d entries", len(fc.entries))
	}
	// A big file is read whole.
	big := make([]byte, 40000)
	for i := range big {
		big[i] = 'x'
	}
	writeFiles(t, dir, map[string]string{"cg/big": string(big)})
	n := 0
	if err := fc.read(filepath.Join(dir, "cg", "big"), func(b []byte) error { n = len(b); return nil }); err != nil || n != len(big) {
		t.Errorf("big read %d bytes, %v", n, err)
	}
}

func TestFileCacheConcurrentForget(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"cg/a": "1\n"})
	fc := newFileCache(10)
	defer fc.closeAll()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if v, err := readUintCached(fc, filepath.Join(dir, "cg", "a")); err != nil || v != 1 {
					t.Errorf("read %d, %v", v, err)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		fc.forget(filepath.Join(dir, "cg"))
	}
	wg.Wait()
}
