package cri

import (
	"sync"

	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// requestCodec is gRPC's proto codec, except that a request that does not
// decode (invalid UTF-8 in a string field, a malformed field) is handed on
// and marked, so that the interceptor answers InvalidArgument: gRPC itself
// would answer Internal, which blames the server for the client's bytes.
type requestCodec struct {
	base encoding.CodecV2
	bad  sync.Map // request message pointer → decode error
}

func newRequestCodec() *requestCodec {
	return &requestCodec{base: encoding.GetCodecV2(protoenc.Name)}
}

func (c *requestCodec) Name() string { return protoenc.Name }

func (c *requestCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := marshalListed(v); ok {
		return b, nil
	}
	if b, ok, err := marshalSized(v); ok {
		return b, err
	}
	return c.base.Marshal(v)
}

func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if err := c.base.Unmarshal(data, v); err != nil {
		c.bad.Store(v, err)
	}
	return nil
}

// decodeError returns (and forgets) the decode error of a request, as an
// InvalidArgument error; nil when it decoded.
func (c *requestCodec) decodeError(req any) error {
	if c == nil {
		return nil
	}
	if err, ok := c.bad.LoadAndDelete(req); ok {
		return invalidf("malformed request: %v", err)
	}
	return nil
}
