package crilog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/dockerlet/dockerlet/internal/testutil"
)

type msg struct {
	ts, stream string
	partial    bool
	content    string
}

func collect(out *[]msg) emitFunc {
	return func(ts []byte, stream string, partial bool, content []byte) error {
		*out = append(*out, msg{string(ts), stream, partial, string(content)})
		return nil
	}
}

// frame builds one stdcopy frame as Docker's log endpoint sends it.
func frame(stream byte, payload string) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

const ts1 = "2026-11-26T20:00:00.000000001Z"
const ts2 = "2026-11-26T20:00:00.000000002Z"

func TestSplitMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []msg
		wantErr bool
	}{
		{"full", ts1 + " hello\n", []msg{{ts1, Stdout, false, "hello"}}, false},
		{"partial", ts1 + " hel", []msg{{ts1, Stdout, true, "hel"}}, false},
		{"empty line", ts1 + " \n", []msg{{ts1, Stdout, false, ""}}, false},
		{"crlf", ts1 + " tty\r\n", []msg{{ts1, Stdout, false, "tty"}}, false},
		{"two messages", ts1 + " a\n" + ts2 + " b\n", []msg{{ts1, Stdout, false, "a"}, {ts2, Stdout, false, "b"}}, false},
		{"spaces kept", ts1 + "  lead and trail  \n", []msg{{ts1, Stdout, false, " lead and trail  "}}, false},
		{"no timestamp", "hello\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []msg
			err := splitMessage(Stdout, []byte(tt.in), collect(&got))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecodeMultiplexed(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(frame(1, ts1+" out1\n"))
	stream.Write(frame(2, ts1+" err1\n"))
	stream.Write(frame(1, ts2+" part"))
	stream.Write(frame(1, ts2+" ial\n"))
	var got []msg
	// One byte at a time: frames must be reassembled whatever the reads.
	if err := decodeMultiplexed(iotest.OneByteReader(&stream), collect(&got)); err != nil {
		t.Fatal(err)
	}
	want := []msg{{ts1, Stdout, false, "out1"}, {ts1, Stderr, false, "err1"}, {ts2, Stdout, true, "part"}, {ts2, Stdout, false, "ial"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDecodeMultiplexedDaemonError(t *testing.T) {
	stream := bytes.NewReader(frame(3, "boom"))
	var got []msg
	if err := decodeMultiplexed(stream, collect(&got)); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the daemon's error", err)
	}
}

func TestDecodeRaw(t *testing.T) {
	long := strings.Repeat("L", 100<<10) // longer than the reader's buffer
	in := ts1 + " a\r\n" + ts1 + " " + long + "\n" + ts2 + " tail-without-newline"
	var got []msg
	if err := decodeRaw(iotest.HalfReader(strings.NewReader(in)), collect(&got)); err != nil {
		t.Fatal(err)
	}
	want := []msg{{ts1, Stdout, false, "a"}, {ts1, Stdout, false, long}, {ts2, Stdout, true, "tail-without-newline"}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %.60v, want %.60v", i, got[i], want[i])
		}
	}
}

func TestDecodeRawGluedPartials(t *testing.T) {
	a := strings.Repeat("a", dockerPartial)
	b := strings.Repeat("b", dockerPartial)
	// What Docker sends for a 40 000-byte TTY line: three messages, no frames.
	in := ts1 + " " + a + ts2 + " " + b + ts2 + " tail\r\n"
	var got []msg
	if err := decodeRaw(strings.NewReader(in), collect(&got)); err != nil {
		t.Fatal(err)
	}
	want := []msg{{ts1, Stdout, true, a}, {ts2, Stdout, true, b}, {ts2, Stdout, false, "tail"}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %.60v, want %.60v", i, got[i], want[i])
		}
	}
	// Content that merely is long is left alone.
	got = nil
	long := strings.Repeat("c", 3*dockerPartial)
	decodeRaw(strings.NewReader(ts1+" "+long+"\n"), collect(&got))
	if len(got) != 1 || got[0].content != long {
		t.Errorf("plain long line split: %d messages", len(got))
	}
}

// FuzzDecode: whatever Docker (or a broken connection) sends, the decoders
// return an error or messages, never panic, and emitted content never holds
// a newline.
func FuzzDecode(f *testing.F) {
	f.Add(frame(1, ts1+" hello\n"), false)
	f.Add([]byte(ts1+" a\r\n"+ts2+" b"), true)
	f.Add(append(frame(2, ts1+" x"), 0, 0), false)
	f.Fuzz(func(t *testing.T, b []byte, raw bool) {
		emit := func(ts []byte, stream string, partial bool, content []byte) error {
			if bytes.IndexByte(content, '\n') >= 0 {
				t.Fatalf("content with newline: %q", content)
			}
			return nil
		}
		if raw {
			_ = decodeRaw(bytes.NewReader(b), emit)
		} else {
			_ = decodeMultiplexed(bytes.NewReader(b), emit)
		}
	})
}

// An idle decoder (its container quiet after a long line) holds its small
// read-ahead, not its largest line: one runs per running container for the
// container's life.
func TestIdleDecodersHoldLittle(t *testing.T) {
	const n = 100
	long := strings.Repeat("x", 40_000) // Docker sends it as three glued TTY messages
	for name, tc := range map[string]struct {
		decode func(io.Reader, emitFunc) error
		input  []byte
	}{
		"tty": {decodeRaw, []byte(ts1 + " " + long[:dockerPartial] + ts1 + " " + long[dockerPartial:2*dockerPartial] + ts1 + " " + long[2*dockerPartial:] + "\r\n")},
		"multiplexed": {decodeMultiplexed, slices.Concat(
			frame(1, ts1+" "+long[:dockerPartial]), frame(1, ts1+" "+long[dockerPartial:2*dockerPartial]), frame(1, ts1+" "+long[2*dockerPartial:]+"\n"))},
	} {
		t.Run(name, func(t *testing.T) {
			before := testutil.LiveHeap()
			var done sync.WaitGroup
			writers := make([]*io.PipeWriter, n)
			var ended sync.WaitGroup
			for i := range n {
				r, w := io.Pipe()
				writers[i] = w
				done.Add(1)
				ended.Add(1)
				go func() {
					defer ended.Done()
					_ = tc.decode(r, func(ts []byte, stream string, partial bool, content []byte) error {
						if !partial {
							done.Done()
						}
						return nil
					})
				}()
				if _, err := w.Write(tc.input); err != nil {
					t.Fatal(err)
				}
			}
			done.Wait()
			per := (int64(testutil.LiveHeap()) - int64(before)) / n
			for _, w := range writers {
				w.Close()
			}
			ended.Wait()
			t.Logf("an idle %s decoder holds %d bytes of heap", name, per)
			if per > 8<<10 {
				t.Errorf("an idle %s decoder holds %d bytes, want at most 8 KiB (its 2 KiB read-ahead, the pipe, the goroutine's closure)", name, per)
			}
		})
	}
}
