// Package crilog writes container output into CRI-format log files (what the
// kubelet, crictl and kubectl read) and reads them back.
//
// A CRI log record is one line:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\n
//
// F ends a logical line; P marks a piece of a longer line that continues in
// the next record of the same stream. Content is at most MaxRecordContent
// bytes, so the kubelet's readers never meet a giant line.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names as the CRI log format spells them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Record tags.
const (
	TagPartial = 'P'
	TagFull    = 'F'
)

// MaxRecordContent is the most content one record carries (16 KiB, as
// containerd and CRI-O split). Longer lines become several P records.
const MaxRecordContent = 16 * 1024

// Record is one parsed CRI log record. Content excludes the newline and
// aliases the parsed buffer.
type Record struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content []byte
}

// ErrBadRecord is wrapped by every parse error.
var ErrBadRecord = errors.New("bad CRI log record")

// AppendRecord appends one formatted record (with its trailing newline) to
// dst. ts is written as given: callers pass an RFC3339Nano timestamp (Docker's
// fixed-width form is one).
func AppendRecord(dst, ts []byte, stream string, partial bool, content []byte) []byte {
	dst = append(dst, ts...)
	dst = append(dst, ' ')
	dst = append(dst, stream...)
	if partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, content...)
	return append(dst, '\n')
}

// AppendLine appends the records for one message of a stream: content split
// into MaxRecordContent pieces, all P but the last, which is P only when the
// message itself was partial (the rest of the line follows in a later
// message).
func AppendLine(dst, ts []byte, stream string, partial bool, content []byte) []byte {
	for len(content) > MaxRecordContent {
		dst = AppendRecord(dst, ts, stream, true, content[:MaxRecordContent])
		content = content[MaxRecordContent:]
	}
	return AppendRecord(dst, ts, stream, partial, content)
}

// ParseRecord parses one record; line may carry its trailing newline.
func ParseRecord(line []byte) (Record, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var r Record
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return r, fmt.Errorf("%w: no timestamp in %.40q", ErrBadRecord, line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return r, fmt.Errorf("%w: timestamp %.40q: %v", ErrBadRecord, line[:i], err)
	}
	r.Time = t
	rest := line[i+1:]
	switch {
	case bytes.HasPrefix(rest, []byte(Stdout+" ")):
		r.Stream, rest = Stdout, rest[len(Stdout)+1:]
	case bytes.HasPrefix(rest, []byte(Stderr+" ")):
		r.Stream, rest = Stderr, rest[len(Stderr)+1:]
	default:
		return r, fmt.Errorf("%w: unknown stream in %.60q", ErrBadRecord, line)
	}
	// The tag and its separator; an empty line is "<ts> stdout F " but a
	// writer that trimmed the trailing blank is tolerated.
	switch {
	case len(rest) >= 2 && rest[1] == ' ' && (rest[0] == TagPartial || rest[0] == TagFull):
		r.Partial, r.Content = rest[0] == TagPartial, rest[2:]
	case len(rest) == 1 && (rest[0] == TagPartial || rest[0] == TagFull):
		r.Partial, r.Content = rest[0] == TagPartial, rest[1:]
	default:
		return r, fmt.Errorf("%w: bad tag in %.60q", ErrBadRecord, line)
	}
	return r, nil
}
