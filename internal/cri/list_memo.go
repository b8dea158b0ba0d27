package cri

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
)

// The relist, answered again while nothing changed. The kubelet lists
// every sandbox and every container each second (its PLEG), and the
// running ones every few seconds (its runtime cache), filtered by state
// alone. The cache hands out the same listing (the same slice) until
// something changes; while it does, the List RPC hands out the same
// response, whose whole encoding was made once from its items'
// (list_fast.go). At 250 pods, looking up 250 items' encodings on every
// call was most of a relist's CPU. Part of the List fast path: off with
// Config.PlainLists.
//
// Ownership: a remembered response, like its items, is shared by every
// caller and read-only; gRPC only marshals it.

// relistMemos holds the last List responses of each state filter.
type relistMemos struct {
	sandboxes  relistMemo[runtimeapi.ListPodSandboxResponse, runtimeapi.PodSandbox]
	containers relistMemo[runtimeapi.ListContainersResponse, runtimeapi.Container]
}

// relistSlots: one for no state filter, one per state (the CRI has 2
// sandbox and 4 container states; room for more).
const relistSlots = 8

// relistMemo remembers responses R listing items T.
type relistMemo[R, T any] struct {
	slot [relistSlots]atomic.Pointer[relistEntry[R]]
}

type relistEntry[R any] struct {
	list []*cache.Shared // the listing resp was made from; kept, so its identity stays its own
	resp *R
}

// sandboxSlot returns the memo slot of a sandbox filter that selects by
// state alone (or not at all); ok=false for any other filter. Sizes add
// up field by field, so a filter whose size is its state's has no other
// field set, whatever fields the CRI adds.
func sandboxSlot(f *runtimeapi.PodSandboxFilter) (int, bool) {
	st := f.GetState()
	if proto.Size(f) != proto.Size(&runtimeapi.PodSandboxFilter{State: st}) {
		return 0, false
	}
	return stateSlot(st != nil, int32(st.GetState()))
}

// containerSlot is sandboxSlot for container filters.
func containerSlot(f *runtimeapi.ContainerFilter) (int, bool) {
	st := f.GetState()
	if proto.Size(f) != proto.Size(&runtimeapi.ContainerFilter{State: st}) {
		return 0, false
	}
	return stateSlot(st != nil, int32(st.GetState()))
}

func stateSlot(filtered bool, state int32) (int, bool) {
	if !filtered {
		return 0, true
	}
	if state < 0 || state+1 >= relistSlots {
		return 0, false
	}
	return int(state) + 1, true
}

// get returns the response made from this very listing, if it is the last.
func (m *relistMemo[R, T]) get(slot int, list []*cache.Shared) (*R, bool) {
	e := m.slot[slot].Load()
	if e == nil || len(list) == 0 || len(e.list) != len(list) || unsafe.SliceData(e.list) != unsafe.SliceData(list) {
		return nil, false
	}
	return e.resp, true
}

// put remembers resp, made from list, when it can be answered again: the
// fast path is on, the listing is the cache's own (a listing straight
// from the engine is new on every call) and every item has its encoding.
func (m *relistMemo[R, T]) put(slot int, plain bool, list []*cache.Shared, resp *R, items []*T) {
	if plain || len(list) == 0 {
		return
	}
	for _, sh := range list {
		if !sh.Inspected {
			return
		}
	}
	parts, ok := repeatedParts(items)
	if !ok {
		return
	}
	rememberResponse(resp, parts)
	m.slot[slot].Store(&relistEntry[R]{list: list, resp: resp})
}

// repeatedParts is encodeRepeated in pieces: each item's key and length,
// then its stored encoding itself, shared rather than copied. A remembered
// response is held as long as its listing lasts, beside its items' own
// encodings: one contiguous copy of them was 100–125 KiB per remembered
// list at 250 pods, and new garbage at every change.
func repeatedParts[T any](items []*T) (mem.BufferSlice, bool) {
	// Room for every head up front: the pieces point into heads, which
	// must not move.
	heads := make([]byte, 0, len(items)*(protowire.SizeTag(listField)+protowire.SizeVarint(1<<32)))
	parts := make(mem.BufferSlice, 0, 2*len(items))
	for _, it := range items {
		b, ok := wireOf(it)
		if !ok {
			return nil, false
		}
		start := len(heads)
		heads = protowire.AppendTag(heads, listField, protowire.BytesType)
		heads = protowire.AppendVarint(heads, uint64(len(b)))
		parts = append(parts, mem.SliceBuffer(heads[start:len(heads):len(heads)]), mem.SliceBuffer(b))
	}
	return parts, true
}

// responses maps a remembered response (weakly) to its encoding's pieces;
// the entry goes when the response is collected.
var responses sync.Map // weak.Pointer[runtimeapi.ListPodSandboxResponse] or weak.Pointer[runtimeapi.ListContainersResponse] → mem.BufferSlice

func rememberResponse[R any](resp *R, parts mem.BufferSlice) {
	key := weak.Make(resp)
	responses.Store(key, parts)
	runtime.AddCleanup(resp, func(k weak.Pointer[R]) { responses.Delete(k) }, key)
}

// responseOf returns the encoding of a remembered response. The pieces are
// read-only and never freed to a pool (SliceBuffer), so every call that
// sends them may share them.
func responseOf[R any](resp *R) (mem.BufferSlice, bool) {
	v, ok := responses.Load(weak.Make(resp))
	if !ok {
		return nil, false
	}
	return v.(mem.BufferSlice), true
}
