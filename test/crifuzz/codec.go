package crifuzz

import (
	"bytes"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// BadUTF8 is a marker the mutator puts into strings; CorruptingCodec
// replaces it on the wire with bytes that are not UTF-8, which Go's proto
// encoder would refuse to send.
const BadUTF8 = "\x01BADUTF8MARK\x01"

// CorruptingCodec is the proto codec with BadUTF8 markers corrupted.
type CorruptingCodec struct{}

func (CorruptingCodec) Name() string { return "proto" }

func (CorruptingCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(BadUTF8)) {
		b = bytes.ReplaceAll(b, []byte(BadUTF8), bytes.Repeat([]byte{0xff}, len(BadUTF8)))
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (CorruptingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

// CallOption makes a call use CorruptingCodec.
func CallOption() grpc.CallOption { return grpc.ForceCodecV2(CorruptingCodec{}) }
