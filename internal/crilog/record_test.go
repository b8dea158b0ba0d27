package crilog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendLineSplits(t *testing.T) {
	ts := []byte("2026-11-26T20:53:08.123456789Z")
	long := strings.Repeat("x", MaxRecordContent)
	tests := []struct {
		name    string
		stream  string
		partial bool
		content string
		want    []string // records without the timestamp prefix
	}{
		{"short", Stdout, false, "hello", []string{"stdout F hello"}},
		{"empty line", Stderr, false, "", []string{"stderr F "}},
		{"partial message", Stdout, true, "abc", []string{"stdout P abc"}},
		{"exactly max", Stdout, false, long, []string{"stdout F " + long}},
		{"max plus one", Stdout, false, long + "y", []string{"stdout P " + long, "stdout F y"}},
		{"two and a half", Stderr, false, long + long + "zz", []string{"stderr P " + long, "stderr P " + long, "stderr F zz"}},
		{"partial long", Stdout, true, long + "q", []string{"stdout P " + long, "stdout P q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := AppendLine(nil, ts, tt.stream, tt.partial, []byte(tt.content))
			if !bytes.HasSuffix(out, []byte{'\n'}) {
				t.Fatalf("output does not end in newline")
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d records, want %d", len(lines), len(tt.want))
			}
			for i, l := range lines {
				if want := string(ts) + " " + tt.want[i]; l != want {
					t.Errorf("record %d = %.80q, want %.80q", i, l, want)
				}
			}
		})
	}
}

func TestParseRecord(t *testing.T) {
	ts := time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC)
	tests := []struct {
		line    string
		want    Record
		wantErr bool
	}{
		{line: "2016-10-06T00:17:09.669794202Z stdout P The content 1\n", want: Record{ts, Stdout, true, []byte("The content 1")}},
		{line: "2016-10-06T00:17:09.669794202Z stderr F with  two  spaces ", want: Record{ts, Stderr, false, []byte("with  two  spaces ")}},
		{line: "2016-10-06T00:17:09.669794202Z stdout F ", want: Record{ts, Stdout, false, []byte{}}},
		{line: "2016-10-06T00:17:09.669794202Z stdout F", want: Record{ts, Stdout, false, []byte{}}},
		{line: "2016-10-06T02:17:09.669794202+02:00 stdout F tz", want: Record{ts, Stdout, false, []byte("tz")}},
		{line: "2016-10-06T00:17:09.669794202Z stdin F x", wantErr: true},
		{line: "2016-10-06T00:17:09.669794202Z stdout X x", wantErr: true},
		{line: "2016-10-06T00:17:09.669794202Z stdout Fx", wantErr: true},
		{line: "yesterday stdout F x", wantErr: true},
		{line: "", wantErr: true},
		{line: "nospace", wantErr: true},
		{line: "2016-10-06T00:17:09Z", wantErr: true},
	}
	for _, tt := range tests {
		r, err := ParseRecord([]byte(tt.line))
		if tt.wantErr {
			if !errors.Is(err, ErrBadRecord) {
				t.Errorf("ParseRecord(%q) err = %v, want ErrBadRecord", tt.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRecord(%q): %v", tt.line, err)
			continue
		}
		if !r.Time.Equal(tt.want.Time) || r.Stream != tt.want.Stream || r.Partial != tt.want.Partial || !bytes.Equal(r.Content, tt.want.Content) {
			t.Errorf("ParseRecord(%q) = %+v, want %+v", tt.line, r, tt.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	ts := []byte("2026-01-02T03:04:05.000000001Z")
	for _, content := range []string{"", "a", "tab\there", strings.Repeat("é", 9000)} {
		out := AppendLine(nil, ts, Stderr, false, []byte(content))
		var got []byte
		for _, l := range bytes.SplitAfter(out, []byte{'\n'}) {
			if len(l) == 0 {
				continue
			}
			r, err := ParseRecord(l)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Content...)
		}
		if string(got) != content {
			t.Errorf("round trip of %d bytes gave %d bytes", len(content), len(got))
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("2016-10-06T00:17:09.669794202Z stdout P x"))
	f.Add([]byte("2016-10-06T00:17:09Z stderr F "))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		out := AppendRecord(nil, []byte(r.Time.Format(time.RFC3339Nano)), r.Stream, r.Partial, r.Content)
		r2, err := ParseRecord(out)
		if err != nil || !bytes.Equal(r2.Content, r.Content) || r2.Partial != r.Partial || r2.Stream != r.Stream {
			t.Fatalf("re-parse of %q: %+v, %v", out, r2, err)
		}
	})
}
