package cri

import (
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// gRPC's buffer pool has tiers of 256 B, 4, 16 and 32 KiB and 1 MiB, so
// every response between 32 KiB and 1 MiB is written from a 1 MiB buffer:
// at 250 pods the stats lists (100–200 KiB) each took one per stats
// cycle, and the pool keeps such a buffer until two collections pass,
// resident all the while. Responses above the largest small tier are
// encoded into a buffer of their exact size instead, garbage once written.
const pooledMax = 32 << 10

// responseBuffer returns a buffer of length 0 and capacity n for an
// encoded response, and the mem.Buffer that hands it to gRPC once filled.
func responseBuffer(n int) ([]byte, func(b []byte) mem.Buffer) {
	if n > pooledMax {
		return make([]byte, 0, n), func(b []byte) mem.Buffer { return mem.SliceBuffer(b) }
	}
	pool := mem.DefaultBufferPool()
	bp := pool.Get(n)
	return (*bp)[:0], func(b []byte) mem.Buffer {
		*bp = b
		return mem.NewBuffer(bp, pool)
	}
}

// marshalSized encodes a response as gRPC's proto codec does, but into
// responseBuffer's buffers; ok=false for a value that is not a protobuf
// message (the base codec answers it).
func marshalSized(v any) (mem.BufferSlice, bool, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, false, nil
	}
	n := proto.Size(m)
	if mem.IsBelowBufferPoolingThreshold(n) {
		b, err := proto.Marshal(m)
		return mem.BufferSlice{mem.SliceBuffer(b)}, true, err
	}
	buf, wrap := responseBuffer(n)
	// The sizes were just computed: reuse them rather than walk the
	// message again.
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, m)
	if err != nil {
		return nil, true, err
	}
	return mem.BufferSlice{wrap(b)}, true, nil
}
