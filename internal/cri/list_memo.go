package cri

import (
	"sync/atomic"
	"unsafe"

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
	wire, ok := encodeRepeated(items, func(n int) []byte { return make([]byte, 0, n) })
	if !ok {
		return
	}
	rememberBytes(resp, wire)
	m.slot[slot].Store(&relistEntry[R]{list: list, resp: resp})
}
