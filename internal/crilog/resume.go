package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// resumeMargin is how far before the last written record a resumed copier
// asks Docker to start again. Docker stamps stdout and stderr in two
// goroutines, so the file's order can differ from timestamp order across
// streams by a little; one second covers that with a wide berth. Records in
// that window are compared exactly against what the file already holds.
const resumeMargin = time.Second

// maxResumeScan bounds how much of the file's tail a resume reads.
const maxResumeScan = 64 << 20

// resumeState says where to pick up Docker's log again after a copier
// restart, and which records in the overlap are already written.
type resumeState struct {
	since time.Time      // zero: from the start of Docker's log
	last  time.Time      // newest timestamp in the window
	seen  map[string]int // exact records (time, stream, tag, content) in the window, counted
}

func recordKey(t time.Time, stream string, partial bool, content []byte) string {
	var b strings.Builder
	b.Grow(len(content) + 32)
	b.WriteString(strconv.FormatInt(t.UnixNano(), 10))
	b.WriteString(stream)
	if partial {
		b.WriteByte(TagPartial)
	} else {
		b.WriteByte(TagFull)
	}
	b.Write(content)
	return b.String()
}

func (s *resumeState) add(r Record) {
	if s.seen == nil {
		s.seen = make(map[string]int)
	}
	s.seen[recordKey(r.Time, r.Stream, r.Partial, r.Content)]++
	if r.Time.After(s.last) {
		s.last = r.Time
	}
}

// skip reports whether the record was already written, consuming one count.
// Records newer than the window are never skipped, and cost no lookup.
func (s *resumeState) skip(t time.Time, stream string, partial bool, content []byte) bool {
	if len(s.seen) == 0 || t.After(s.last) {
		return false
	}
	if t.Before(s.since) {
		return true // older than the overlap: written before (Docker would not send it)
	}
	k := recordKey(t, stream, partial, content)
	if n := s.seen[k]; n > 0 {
		if n == 1 {
			delete(s.seen, k)
		} else {
			s.seen[k] = n - 1
		}
		return true
	}
	return false
}

// loadResume reads the tail of the log (and, when the window runs past the
// file's start, of the newest rotated sibling the kubelet left) and returns
// where to resume. A torn last line (a crash mid-write) is cut off first,
// so the next record starts on a line of its own. Every file is opened
// inside the log's directory, resolved inside the pod's (see logFile).
func loadResume(l logFile) (resumeState, error) {
	var st resumeState
	d, name, err := l.openDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer d.Close()
	if err := trimTornTail(d, name); err != nil {
		return st, err
	}
	files := append([]string{name}, rotatedSiblings(d, name)...)
	anchored := false
	for _, f := range files {
		stopped, err := scanBackwardIn(d, f, maxResumeScan, func(r Record) bool {
			if !anchored {
				anchored = true
				st.since = r.Time.Add(-resumeMargin)
			}
			// Keep walking one more margin back: out-of-order records
			// that belong to the window may sit a little earlier.
			if r.Time.Before(st.since.Add(-resumeMargin)) {
				return false
			}
			if !r.Time.Before(st.since) {
				st.add(r)
			}
			return true
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		if stopped {
			break
		}
	}
	return st, nil
}

// trimTornTail cuts a last line that lacks its newline.
func trimTornTail(d *os.Root, path string) error {
	f, err := d.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		n := int64(chunk)
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		if end == size && buf[n-1] == '\n' {
			return nil
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return f.Truncate(end - n + int64(i) + 1)
		}
		end -= n
	}
	return f.Truncate(0)
}

// rotatedSiblings returns the uncompressed files the kubelet's rotation
// left beside path (<path>.<timestamp>), newest first. Rotations are
// seconds apart, so the resume window rarely needs more than the first.
func rotatedSiblings(d *os.Root, name string) []string {
	matches, _ := fs.Glob(d.FS(), globEscape(name)+".*")
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, m := range matches {
		if strings.HasSuffix(m, ".gz") || strings.HasSuffix(m, ".tmp") {
			continue
		}
		fi, err := d.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		files = append(files, file{m, fi.ModTime()})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.name
	}
	return out
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// scanBackwardIn calls fn for each parseable record of the file name in d,
// newest first, until fn returns false (stopped = true), the start of the
// file, or max bytes read. Unparseable lines are passed over.
func scanBackwardIn(d *os.Root, name string, max int64, fn func(Record) bool) (stopped bool, err error) {
	f, err := d.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return scanBackwardFile(f, name, max, fn)
}

func scanBackwardFile(f *os.File, path string, max int64, fn func(Record) bool) (stopped bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	const chunk = 256 << 10
	pos := fi.Size()
	var carry []byte // start of a line whose beginning lies in an earlier chunk
	for pos > 0 && fi.Size()-pos < max {
		n := int64(chunk)
		if n > pos {
			n = pos
		}
		pos -= n
		buf := make([]byte, n, n+int64(len(carry)))
		if _, err := f.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("read log %s: %w", path, err)
		}
		buf = append(buf, carry...)
		parts := bytes.Split(buf, []byte{'\n'})
		first := 1
		if pos == 0 {
			first = 0
		}
		for k := len(parts) - 1; k >= first; k-- {
			if len(parts[k]) == 0 {
				continue
			}
			r, perr := ParseRecord(parts[k])
			if perr != nil {
				continue
			}
			if !fn(r) {
				return true, nil
			}
		}
		carry = parts[0]
	}
	return false, nil
}
