package crilog

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// dockerStream builds what Docker's log endpoint sends for n lines: stdcopy
// frames alternating between stdout and stderr, or, for a TTY container,
// the lines unframed with the terminal's line ends.
func dockerStream(n int, tty bool) []byte {
	var b bytes.Buffer
	t := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		ts := t.Add(time.Duration(i) * time.Microsecond).Format("2006-01-02T15:04:05.000000000Z07:00")
		if tty {
			fmt.Fprintf(&b, "%s line %d of the benchmark, some typical log text here\r\n", ts, i)
			continue
		}
		b.Write(frame(byte(1+i%2), fmt.Sprintf("%s line %d of the benchmark, some typical log text here\n", ts, i)))
	}
	return b.Bytes()
}

// BenchmarkCopierWritePath is the copier's whole write path: stdcopy frames
// (or a TTY's lines) in, timestamps parsed, records formatted, buffered
// writes to a file.
func BenchmarkCopierWritePath(b *testing.B) {
	b.Run("multiplexed", func(b *testing.B) { benchmarkCopierWritePath(b, false) })
	b.Run("tty", func(b *testing.B) { benchmarkCopierWritePath(b, true) })
}

func benchmarkCopierWritePath(b *testing.B, tty bool) {
	const lines = 10000
	in := dockerStream(lines, tty)
	path := filepath.Join(b.TempDir(), "c.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	c := &copier{id: "bench", path: path, tty: tty, log: slog.New(slog.DiscardHandler), f: f, w: &logWriter{dst: f}}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.copyStream(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
		c.flush()
		if i%20 == 19 { // keep the file small
			f.Truncate(0)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkAppendLine(b *testing.B) {
	ts := []byte("2026-11-26T20:53:08.123456789Z")
	content := []byte("a typical log line of about eighty bytes, with some words and numbers 12345")
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendLine(buf[:0], ts, Stdout, false, content)
	}
}

func BenchmarkParseRecord(b *testing.B) {
	line := []byte("2026-11-26T20:53:08.123456789Z stdout F a typical log line of about eighty bytes, with some words\n")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseRecord(line); err != nil {
			b.Fatal(err)
		}
	}
}
