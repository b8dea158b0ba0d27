package cri

import (
	"context"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
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

// sandboxItem is the CRI sandbox of a listing, made once per snapshot.
func sandboxItem(sh *cache.Shared) *runtimeapi.PodSandbox {
	if sb, ok := sh.Derived().(*runtimeapi.PodSandbox); ok {
		return sb
	}
	sb := sandboxFromSummary(sh.Summary)
	sh.SetDerived(sb)
	return sb
}

// containerItem is the CRI container of a listing, made once per snapshot.
func containerItem(sh *cache.Shared) *runtimeapi.Container {
	if c, ok := sh.Derived().(*runtimeapi.Container); ok {
		return c
	}
	c := containerFromSummary(sh.Summary)
	sh.SetDerived(c)
	return c
}
