package cri

import (
	"runtime"
	"sync"
	"weak"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// The List fast path, all of it (Config.PlainLists switches it off). The
// kubelet relists every second. The List RPCs answer from the cache's own
// snapshots (Engine.ListShared); with the fast path on,
//   - the CRI item is derived from a snapshot once and attached to it
//     (cache.Shared.SetDerived), and
//   - its protobuf encoding is made once, when it is derived, so that a
//     List response made only of such items is encoded by appending them
//     (marshalListed, called by the gRPC codec): marshalling 220 items
//     with their label maps was the largest CPU share of a relist.
// Off, every List derives and encodes its items afresh. The figures:
// docs/performance.md (BenchmarkListFastPath).
//
// Ownership: the snapshots are shared with every other caller and
// read-only (see cache.Shared), and so are the CRI items derived from
// them: the List RPCs hand them to gRPC, which only marshals them. Nothing
// in this package modifies a listed item or a shared record
// (TestSharedStaysUnmodified).

// listed is what a List RPC derives from one shared snapshot: the
// ownership verdict and the CRI item. Like the snapshot, read-only.
type listed struct {
	root, typ string // the verdict's server and object type
	mine      bool
	sandbox   *runtimeapi.PodSandbox // typ is a sandbox and mine
	container *runtimeapi.Container  // typ is a container and mine
}

// listedOf returns the listing of sh as an object of type typ.
func (s *Service) listedOf(sh *cache.Shared, typ string) *listed {
	fast := !s.cfg.PlainLists
	if d, ok := sh.Derived().(*listed); fast && ok && d.root == s.rootDir && d.typ == typ {
		return d
	}
	d := &listed{root: s.rootDir, typ: typ, mine: s.mine(sh.Summary.Labels, typ)}
	if d.mine {
		switch typ {
		case naming.TypeSandbox:
			d.sandbox = sandboxFromSummary(sh.Summary)
		case naming.TypeContainer:
			d.container = containerFromSummary(sh.Summary)
			if sh.StartFailed {
				d.container.State = runtimeapi.ContainerState_CONTAINER_EXITED
			}
		}
	}
	if !fast {
		return d
	}
	if d.sandbox != nil {
		rememberWire(d.sandbox)
	}
	if d.container != nil {
		rememberWire(d.container)
	}
	sh.SetDerived(d)
	return d
}

// wires maps a derived item (weakly: it does not keep the item alive) to
// its encoding; the entry goes when the item is collected.
var wires sync.Map // weak.Pointer[runtimeapi.PodSandbox] or weak.Pointer[runtimeapi.Container] → []byte

// rememberWire stores the encoding of a freshly derived, read-only item.
func rememberWire[T any, P interface {
	*T
	proto.Message
}](item P) {
	b, err := proto.Marshal(item)
	if err != nil {
		return // encoded the ordinary way then
	}
	rememberBytes((*T)(item), b)
}

// rememberBytes stores b as item's encoding.
func rememberBytes[T any](item *T, b []byte) {
	key := weak.Make(item)
	wires.Store(key, b)
	runtime.AddCleanup(item, func(k weak.Pointer[T]) { wires.Delete(k) }, key)
}

func wireOf[T any](item *T) ([]byte, bool) {
	b, ok := wires.Load(weak.Make(item))
	if !ok {
		return nil, false
	}
	return b.([]byte), true
}

// listField is the one field of a List response the encoder writes: the
// repeated items.
const listField protowire.Number = 1

// encodable reports whether the encoder writes every field of a List
// response message: exactly one, listField, the repeated items. A field
// cri-api adds to the message would be dropped by appendRepeated, so a
// message with another field is encoded the ordinary way
// (TestListEncoderWritesEveryField fails then, to say so).
func encodable(md protoreflect.MessageDescriptor) bool {
	fs := md.Fields()
	if fs.Len() != 1 || md.Oneofs().Len() != 0 || md.ExtensionRanges().Len() != 0 {
		return false
	}
	f := fs.Get(0)
	return f.Number() == listField && f.Cardinality() == protoreflect.Repeated && f.Kind() == protoreflect.MessageKind
}

var (
	sandboxesEncodable  = encodable((&runtimeapi.ListPodSandboxResponse{}).ProtoReflect().Descriptor())
	containersEncodable = encodable((&runtimeapi.ListContainersResponse{}).ProtoReflect().Descriptor())
)

// appendRepeated encodes a message whose only field, listField, is the
// repeated items, from their stored encodings; ok=false if one has none.
// The buffer is responseBuffer's: from gRPC's pool when small, returned
// to it once written.
func appendRepeated[T any](items []*T) (mem.BufferSlice, bool) {
	var wrap func([]byte) mem.Buffer
	var start []byte
	buf, ok := encodeRepeated(items, func(n int) []byte {
		start, wrap = responseBuffer(n)
		return start
	})
	if !ok {
		if wrap != nil {
			wrap(start).Free()
		}
		return nil, false
	}
	return mem.BufferSlice{wrap(buf)}, true
}

// encodeRepeated is appendRepeated into a buffer alloc(n) gives, n being
// the encoding's exact size; ok=false if an item has no stored encoding.
func encodeRepeated[T any](items []*T, alloc func(n int) []byte) ([]byte, bool) {
	parts := make([][]byte, len(items))
	n := 0
	for i, it := range items {
		b, ok := wireOf(it)
		if !ok {
			return nil, false
		}
		parts[i] = b
		n += protowire.SizeTag(listField) + protowire.SizeBytes(len(b))
	}
	buf := alloc(n)
	for _, b := range parts {
		buf = protowire.AppendTag(buf, listField, protowire.BytesType)
		buf = protowire.AppendBytes(buf, b)
	}
	return buf, true
}

// marshalListed encodes the List responses from their items' stored
// encodings when every item has one (ok=false: encode it the ordinary
// way).
func marshalListed(v any) (mem.BufferSlice, bool) {
	switch r := v.(type) {
	case *runtimeapi.ListPodSandboxResponse:
		if b, ok := wireOf(r); ok { // a remembered relist (list_memo.go)
			return mem.BufferSlice{mem.SliceBuffer(b)}, true
		}
		if sandboxesEncodable && len(r.ProtoReflect().GetUnknown()) == 0 {
			return appendRepeated(r.Items)
		}
	case *runtimeapi.ListContainersResponse:
		if b, ok := wireOf(r); ok {
			return mem.BufferSlice{mem.SliceBuffer(b)}, true
		}
		if containersEncodable && len(r.ProtoReflect().GetUnknown()) == 0 {
			return appendRepeated(r.Containers)
		}
	}
	return nil, false
}
