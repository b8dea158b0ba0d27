package cri

import (
	"context"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// sharedEngine is the engine cache's copy-free reads (cache.Cache). The
// kubelet relists every second; answering from the cache's own snapshots,
// with the CRI item derived from each snapshot once and attached to it,
// leaves a relist little to do but filter and marshal.
//
// Ownership: what these return is shared with every other caller and
// read-only (see cache.Shared), and so are the CRI items derived from it:
// the List RPCs hand them to gRPC, which only marshals them. Nothing in
// this package modifies a listed item or a shared record
// (TestSharedStaysUnmodified).
type sharedEngine interface {
	ListShared(ctx context.Context, opts engine.ListOptions) ([]*cache.Shared, error)
	InspectShared(ctx context.Context, id string) (*container.InspectResponse, error)
}

// listShared lists through the cache without copies, or wraps the
// engine's own results when there is no cache (play, tests).
func (s *Service) listShared(ctx context.Context, opts engine.ListOptions) ([]*cache.Shared, error) {
	if se, ok := s.eng.(sharedEngine); ok {
		return se.ListShared(ctx, opts)
	}
	list, err := s.eng.ListContainers(ctx, opts)
	if err != nil {
		return nil, err
	}
	return cache.WrapShared(list), nil
}

// inspectShared inspects for a reader that keeps to the rule above.
func (s *Service) inspectShared(ctx context.Context, id string) (*container.InspectResponse, error) {
	if se, ok := s.eng.(sharedEngine); ok {
		return se.InspectShared(ctx, id)
	}
	return s.eng.InspectContainer(ctx, id)
}

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
	_, cached := s.eng.(sharedEngine) // only the cache's items are marshalled often
	if d.mine {
		switch typ {
		case naming.TypeSandbox:
			d.sandbox = sandboxFromSummary(sh.Summary)
			if cached {
				rememberWire(d.sandbox)
			}
		case naming.TypeContainer:
			d.container = containerFromSummary(sh.Summary)
			if sh.StartFailed {
				d.container.State = runtimeapi.ContainerState_CONTAINER_EXITED
			}
			if cached {
				rememberWire(d.container)
			}
		}
	}
	sh.SetDerived(d)
	return d
}
