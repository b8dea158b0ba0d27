package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodeMultiplexedFrames(t *testing.T) {
	big := strings.Repeat("x", 3*dockerPartial) // more than a pooled buffer holds
	tests := []struct {
		name    string
		in      []byte
		want    []msg
		wantErr string
	}{
		{"stdout and stderr", append(frame(1, ts1+" out\n"), frame(2, ts2+" err\n")...),
			[]msg{{ts1, Stdout, false, "out"}, {ts2, Stderr, false, "err"}}, ""},
		{"stdin counts as stdout", frame(0, ts1+" in\n"), []msg{{ts1, Stdout, false, "in"}}, ""},
		{"frame larger than the pool's buffers", frame(1, ts1+" "+big+"\n"), []msg{{ts1, Stdout, false, big}}, ""},
		{"empty stream", nil, nil, ""},
		{"stream cut inside a header", frame(1, ts1+" a\n")[:5], nil, ""},
		{"stream cut inside a payload", frame(1, ts1+" a\n")[:12], nil, ""},
		{"daemon error", frame(3, "boom"), nil, "error from daemon in stream: boom"},
		{"unknown stream type", frame(7, ts1+" a\n"), nil, "unrecognized stream type 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []msg
			err := decodeMultiplexed(bytes.NewReader(tt.in), collect(&got))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %.200v, want %.200v", got, tt.want)
			}
			// One byte at a time: frames split across reads decode the same.
			got = nil
			_ = decodeMultiplexed(iotest.OneByteReader(bytes.NewReader(tt.in)), collect(&got))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("one byte at a time: got %.200v, want %.200v", got, tt.want)
			}
		})
	}
}

type failWriter struct {
	bytes.Buffer
	fail bool
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("disk full")
	}
	return w.Buffer.Write(p)
}

func TestLogWriter(t *testing.T) {
	dst := &failWriter{}
	w := &logWriter{}
	w.Reset(dst)
	w.Write([]byte("a"))
	w.Write([]byte("b"))
	if dst.Len() != 0 || w.Buffered() != 2 {
		t.Fatalf("written before flush: dst %q, buffered %d", dst.String(), w.Buffered())
	}
	if err := w.Flush(); err != nil || dst.String() != "ab" || w.buf != nil {
		t.Fatalf("flush: %v, dst %q, buffer kept %v", err, dst.String(), w.buf != nil)
	}
	// A write that does not fit flushes first; one as big as the buffer
	// goes straight through, in order.
	w.Write([]byte("c"))
	huge := bytes.Repeat([]byte("h"), logWriterSize)
	w.Write(huge)
	if want := "abc" + string(huge); dst.String() != want || w.Buffered() != 0 {
		t.Fatalf("big write: dst has %d bytes, want %d; buffered %d", dst.Len(), len(want), w.Buffered())
	}
	// An error drops what was pending and is not sticky.
	dst.Reset()
	w.Write([]byte("lost"))
	dst.fail = true
	if err := w.Flush(); err == nil {
		t.Fatal("flush to a failing file succeeded")
	}
	dst.fail = false
	w.Write([]byte("next"))
	if err := w.Flush(); err != nil || dst.String() != "next" {
		t.Fatalf("after an error: %v, dst %q", err, dst.String())
	}
	// Reset discards.
	w.Write([]byte("gone"))
	w.Reset(dst)
	if err := w.Flush(); err != nil || dst.String() != "next" {
		t.Fatalf("after reset: %v, dst %q", err, dst.String())
	}
}
