package stats

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestParseMajMin(t *testing.T) {
	tests := []struct {
		in       string
		maj, min uint64
		ok       bool
	}{
		{"8:0", 8, 0, true},
		{"253:17", 253, 17, true},
		{"8", 0, 0, false},
		{"8:", 0, 0, false},
		{":0", 0, 0, false},
		{"a:b", 0, 0, false},
		{"Total", 0, 0, false},
	}
	for _, tt := range tests {
		maj, min, ok := parseMajMin([]byte(tt.in))
		if ok != tt.ok || ok && (maj != tt.maj || min != tt.min) {
			t.Errorf("parseMajMin(%q) = %d, %d, %v; want %d, %d, %v", tt.in, maj, min, ok, tt.maj, tt.min, tt.ok)
		}
	}
}

func TestReadBlkio(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"bytes":   "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
		"ios":     "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
		"io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\nbad line\n253:1 rbytes=10 wbytes=0 rios=1 wios=0\n",
	})
	v1 := readBlkioV1(filepath.Join(dir, "bytes"), filepath.Join(dir, "ios"))
	wantV1 := []blkioStat{
		{major: 8, minor: 0, op: "Read", bytes: 4096, ios: 1},
		{major: 8, minor: 0, op: "Write", bytes: 8192, ios: 2},
		{major: 8, minor: 0, op: "Total", bytes: 12288, ios: 3},
	}
	if !slices.Equal(v1, wantV1) {
		t.Errorf("v1 blkio = %+v, want %+v", v1, wantV1)
	}
	v2 := readIOStatV2(filepath.Join(dir, "io.stat"))
	wantV2 := []blkioStat{
		{major: 8, minor: 0, op: "Read", bytes: 4096, ios: 1},
		{major: 8, minor: 0, op: "Write", bytes: 8192, ios: 2},
		{major: 253, minor: 1, op: "Read", bytes: 10, ios: 1},
		{major: 253, minor: 1, op: "Write"},
	}
	if !slices.Equal(v2, wantV2) {
		t.Errorf("v2 io.stat = %+v, want %+v", v2, wantV2)
	}
}
