package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// AllLines as ReadOptions.Tail reads the whole file.
const AllLines = -1

// ReadOptions select what ReadLog prints.
type ReadOptions struct {
	// Tail is how many records from the end to start with; AllLines (any
	// negative number) for all, 0 for none (useful with Follow).
	Tail int
	// Follow keeps reading as the file grows and across a rotation (the
	// path replaced by a new file) until ctx ends.
	Follow bool
	// Since drops records older than this; zero keeps all.
	Since time.Time
	// Timestamps prefixes each record's content with its timestamp.
	Timestamps bool
	// LimitBytes stops after this many bytes of output; 0 is no limit.
	LimitBytes int64
}

// followPoll is how often a following reader looks for new records.
const followPoll = 100 * time.Millisecond

// ReadLog prints the CRI log at path: stdout records to stdout, stderr
// records to stderr. A partial (P) record is printed without a newline, so
// the pieces of a long line join up again.
func ReadLog(ctx context.Context, path string, opts ReadOptions, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() { f.Close() }()
	if opts.Tail >= 0 {
		off, err := tailOffset(f, opts.Tail)
		if err != nil {
			return err
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("seek log: %w", err)
		}
	}
	p := printer{opts: opts, stdout: stdout, stderr: stderr}
	br := bufio.NewReaderSize(f, 64<<10)
	var pending []byte // a line not yet complete (being written, or longer than the buffer)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			pending = append(pending, line...)
			continue
		}
		if len(pending) > 0 || (err != nil && len(line) > 0) {
			pending = append(pending, line...)
			line = pending
		}
		if err == nil {
			done, perr := p.print(line)
			pending = pending[:0]
			if perr != nil || done {
				return perr
			}
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log: %w", err)
		}
		// At the end of what is written so far.
		if !opts.Follow {
			if len(pending) > 0 { // a last line without newline
				_, perr := p.print(pending)
				return perr
			}
			return nil
		}
		if rotated(f, path) && len(pending) == 0 {
			// The writer moved on to a new file; this one is complete.
			nf, err := os.Open(path)
			if err == nil {
				f.Close()
				f = nf
				br.Reset(f)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// rotated reports whether path now names another file than f.
func rotated(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	if err != nil {
		return false // not recreated yet
	}
	return !os.SameFile(fi, pi)
}

type printer struct {
	opts           ReadOptions
	stdout, stderr io.Writer
	written        int64
	out            []byte
}

// print writes one record; done is true when LimitBytes is reached.
func (p *printer) print(line []byte) (done bool, err error) {
	r, err := ParseRecord(line)
	if err != nil {
		return false, nil // not a record (a torn or foreign line): skip it, as the kubelet does
	}
	if !p.opts.Since.IsZero() && r.Time.Before(p.opts.Since) {
		return false, nil
	}
	p.out = p.out[:0]
	if p.opts.Timestamps {
		p.out = r.Time.AppendFormat(p.out, time.RFC3339Nano)
		p.out = append(p.out, ' ')
	}
	p.out = append(p.out, r.Content...)
	if !r.Partial {
		p.out = append(p.out, '\n')
	}
	if p.opts.LimitBytes > 0 && p.written+int64(len(p.out)) >= p.opts.LimitBytes {
		p.out = p.out[:p.opts.LimitBytes-p.written]
		done = true
	}
	w := p.stdout
	if r.Stream == Stderr {
		w = p.stderr
	}
	if w != nil {
		if _, err := w.Write(p.out); err != nil {
			return true, err
		}
	}
	p.written += int64(len(p.out))
	return done, nil
}

// tailOffset returns the offset of the n-th record from the end of f.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if n == 0 {
		return size, nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	seen := 0
	first := true
	for end > 0 {
		k := int64(chunk)
		if k > end {
			k = end
		}
		start := end - k
		if _, err := f.ReadAt(buf[:k], start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read log: %w", err)
		}
		b := buf[:k]
		if first {
			first = false
			// The file's own last newline ends the last record, it does not
			// start one.
			if len(b) > 0 && b[len(b)-1] == '\n' {
				b = b[:len(b)-1]
			}
		}
		for {
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				break
			}
			seen++
			if seen == n {
				return start + int64(i) + 1, nil
			}
			b = b[:i]
		}
		end = start
	}
	return 0, nil
}
