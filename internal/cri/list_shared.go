package cri

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// The kubelet relists every second; the List RPCs answer from the cache's
// own snapshots (Engine.ListShared), with the CRI item derived from each
// snapshot once and attached to it, which leaves a relist little to do but
// filter and marshal.
//
// Ownership: the snapshots are shared with every other caller and
// read-only (see cache.Shared), and so are the CRI items derived from
// them: the List RPCs hand them to gRPC, which only marshals them. Nothing
// in this package modifies a listed item or a shared record
// (TestSharedStaysUnmodified).

// listed is what a List RPC derives from one shared snapshot, once: the
// ownership verdict and the CRI item. Like the snapshot, read-only.
type listed struct {
	root, typ string // the verdict's server and object type
	mine      bool
	sandbox   *runtimeapi.PodSandbox // typ is a sandbox and mine
	container *runtimeapi.Container  // typ is a container and mine
}

// listedOf returns the listing of sh as an object of type typ.
func (s *Service) listedOf(sh *cache.Shared, typ string) *listed {
	if d, ok := sh.Derived().(*listed); ok && d.root == s.rootDir && d.typ == typ {
		return d
	}
	d := &listed{root: s.rootDir, typ: typ, mine: s.mine(sh.Summary.Labels, typ)}
	if d.mine {
		switch typ {
		case naming.TypeSandbox:
			d.sandbox = sandboxFromSummary(sh.Summary)
			rememberWire(d.sandbox)
		case naming.TypeContainer:
			d.container = containerFromSummary(sh.Summary)
			if sh.StartFailed {
				d.container.State = runtimeapi.ContainerState_CONTAINER_EXITED
			}
			rememberWire(d.container)
		}
	}
	sh.SetDerived(d)
	return d
}
