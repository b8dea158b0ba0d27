package crilog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestLoadResume(t *testing.T) {
	const (
		t0 = "2026-11-26T20:00:00.000000000Z"
		t1 = "2026-11-26T20:00:05.000000000Z"
		t2 = "2026-11-26T20:00:05.500000000Z"
		t3 = "2026-11-26T20:00:06.000000000Z"
	)
	type in struct {
		ts, stream string
		partial    bool
		content    string
	}
	tests := []struct {
		name      string
		file      string
		wantSince string // "" = from the start
		incoming  []in
		wantSkip  []bool
	}{
		{
			name:     "no file: everything is new",
			incoming: []in{{t0, Stdout, false, "a"}},
			wantSkip: []bool{false},
		},
		{
			name:      "same timestamp, several lines: count them",
			file:      t1 + " stdout F x\n" + t3 + " stdout F dup\n" + t3 + " stdout F dup\n",
			wantSince: "2026-11-26T20:00:05.000000000Z",
			incoming: []in{
				{t1, Stdout, false, "x"}, {t3, Stdout, false, "dup"}, {t3, Stdout, false, "dup"},
				{t3, Stdout, false, "dup"}, // a third one was not written yet
			},
			wantSkip: []bool{true, true, true, false},
		},
		{
			name:      "streams out of order in the file",
			file:      t2 + " stderr F e\n" + t1 + " stdout F o\n",
			wantSince: "2026-11-26T20:00:04.000000000Z",
			incoming:  []in{{t1, Stdout, false, "o"}, {t2, Stderr, false, "e"}, {t2, Stdout, false, "new"}},
			wantSkip:  []bool{true, true, false},
		},
		{
			name:      "same time, other stream or tag is new",
			file:      t3 + " stdout P piece\n",
			wantSince: "2026-11-26T20:00:05.000000000Z",
			incoming:  []in{{t3, Stderr, true, "piece"}, {t3, Stdout, false, "piece"}, {t3, Stdout, true, "piece"}},
			wantSkip:  []bool{false, false, true},
		},
		{
			name:      "torn last line is cut and not counted",
			file:      t1 + " stdout F kept\n" + t3 + " stdout F half-writ",
			wantSince: "2026-11-26T20:00:04.000000000Z",
			incoming:  []in{{t1, Stdout, false, "kept"}, {t3, Stdout, false, "half-written"}},
			wantSkip:  []bool{true, false},
		},
		{
			name:      "garbage lines are passed over",
			file:      "junk\n" + t3 + " stdout F ok\nmore junk\n",
			wantSince: "2026-11-26T20:00:05.000000000Z",
			incoming:  []in{{t3, Stdout, false, "ok"}},
			wantSkip:  []bool{true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			if tt.file != "" {
				writeFile(t, path, tt.file)
			}
			st, err := loadResume(logFile{root: filepath.Dir(path), rel: filepath.Base(path)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSince == "" {
				if !st.since.IsZero() {
					t.Errorf("since = %v, want zero", st.since)
				}
			} else if want := mustTime(t, tt.wantSince); !st.since.Equal(want) {
				t.Errorf("since = %v, want %v", st.since, want)
			}
			for i, r := range tt.incoming {
				if got := st.skip(mustTime(t, r.ts), r.stream, r.partial, []byte(r.content)); got != tt.wantSkip[i] {
					t.Errorf("incoming %d %v: skip = %v, want %v", i, r, got, tt.wantSkip[i])
				}
			}
			if tt.file != "" {
				b, _ := os.ReadFile(path)
				if len(b) > 0 && b[len(b)-1] != '\n' {
					t.Errorf("file still ends in a torn line: %q", b)
				}
			}
		})
	}
}

func TestLoadResumeRotatedSibling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	const t1 = "2026-11-26T20:00:05.000000000Z"
	// The kubelet renamed the file and dockerlet restarted before writing
	// to the new one: the window must come from the rotated file.
	writeFile(t, path+".20261126-200006", t1+" stdout F before-rotation\n")
	writeFile(t, path+".20261126-190000.gz", "not a log")
	writeFile(t, path, "")
	st, err := loadResume(logFile{root: filepath.Dir(path), rel: filepath.Base(path)})
	if err != nil {
		t.Fatal(err)
	}
	if !st.skip(mustTime(t, t1), Stdout, false, []byte("before-rotation")) {
		t.Error("record in the rotated file not recognised as written")
	}
}

func TestScanBackwardAcrossChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	var b strings.Builder
	line := strings.Repeat("z", 1000)
	const n = 2000 // ~2 MB: several 256 KiB chunks, lines cut at chunk edges
	for i := 0; i < n; i++ {
		b.WriteString("2026-11-26T20:00:05.000000000Z stdout F " + line + "\n")
	}
	writeFile(t, path, b.String())
	count := 0
	stopped, err := scanBackwardPath(path, maxResumeScan, func(r Record) bool {
		if string(r.Content) != line {
			t.Fatalf("record %d mangled: %d bytes", count, len(r.Content))
		}
		count++
		return true
	})
	if err != nil || stopped {
		t.Fatalf("stopped=%v err=%v", stopped, err)
	}
	if count != n {
		t.Errorf("saw %d records, want %d", count, n)
	}
}

func scanBackwardPath(path string, max int64, fn func(Record) bool) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return scanBackwardFile(f, path, max, fn)
}
