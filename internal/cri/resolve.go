package cri

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// fullIDLen is the length of a Docker container id.
const fullIDLen = 64

// findManaged lists the managed containers of type typ whose id starts with
// prefix. Only containers carrying the managed label are ever considered.
func (s *Service) findManaged(ctx context.Context, typ, prefix string) ([]container.Summary, error) {
	opts := engine.ListOptions{All: true, Labels: s.managedFilter(typ)}
	if len(prefix) == fullIDLen {
		opts.IDs = []string{prefix}
	}
	list, err := s.eng.ListContainers(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", typ, err)
	}
	out := list[:0]
	for _, c := range list {
		if strings.HasPrefix(c.ID, prefix) && s.mine(c.Labels, typ) {
			out = append(out, c)
		}
	}
	return out, nil
}

func isManaged(l map[string]string, typ string) bool {
	return l[naming.LabelManaged] == "true" && l[naming.LabelType] == typ
}

// adopted reports whether an object is one dockerlet adopted from another
// runtime (internal/adopt): its labels are shown, not stored, and its log
// file is that runtime's.
func adopted(l map[string]string) bool { return l[naming.LabelAdopted] != "" }

// mine reports whether a managed object is this server's.
func (s *Service) mine(l map[string]string, typ string) bool {
	return isManaged(l, typ) && l[naming.LabelRootDir] == s.rootDir
}

// resolveID turns a full id or unique id prefix into a full id. Unknown ids
// give ErrNotFound; an ambiguous prefix is rejected, never guessed.
func (s *Service) resolveID(ctx context.Context, typ, id string) (string, error) {
	if id == "" {
		return "", invalidf("%s id is empty", typ)
	}
	if len(id) == fullIDLen {
		// A full id needs no listing: inspect it and check it is ours.
		c, err := s.eng.InspectContainer(ctx, id)
		if errdefs.IsNotFound(err) {
			return "", notFoundf("%s %q", typ, id)
		}
		if err != nil {
			return "", fmt.Errorf("inspect %s %s: %w", typ, id, err)
		}
		if c.ID != id || c.Config == nil || !s.mine(c.Config.Labels, typ) {
			return "", notFoundf("%s %q", typ, id)
		}
		return id, nil
	}
	list, err := s.findManaged(ctx, typ, id)
	if err != nil {
		return "", err
	}
	switch len(list) {
	case 0:
		return "", notFoundf("%s %q", typ, id)
	case 1:
		return list[0].ID, nil
	}
	return "", invalidf("%s id prefix %q is ambiguous (%d matches)", typ, id, len(list))
}

// inspectManaged inspects a resolved id and re-checks the managed label.
func (s *Service) inspectManaged(ctx context.Context, typ, id string) (*container.InspectResponse, error) {
	return s.inspectManagedVia(ctx, s.eng.InspectContainer, typ, id)
}

// inspectManagedShared is inspectManaged answered with the cache's own
// record, without the copy: read-only (see Engine.InspectShared). For the
// status reads the kubelet makes of every pod, where a deep copy of each
// record was most of the cost.
func (s *Service) inspectManagedShared(ctx context.Context, typ, id string) (*container.InspectResponse, error) {
	return s.inspectManagedVia(ctx, s.eng.InspectShared, typ, id)
}

func (s *Service) inspectManagedVia(ctx context.Context, inspect func(context.Context, string) (*container.InspectResponse, error), typ, id string) (*container.InspectResponse, error) {
	c, err := inspect(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, notFoundf("%s %q", typ, id)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect %s %s: %w", typ, id, err)
	}
	if c.Config == nil || !s.mine(c.Config.Labels, typ) {
		return nil, notFoundf("%s %q", typ, id)
	}
	return c, nil
}

func (s *Service) resolveSandbox(ctx context.Context, id string) (*container.InspectResponse, error) {
	return s.resolve(ctx, s.inspectManaged, naming.TypeSandbox, id)
}

func (s *Service) resolveContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	return s.resolve(ctx, s.inspectManaged, naming.TypeContainer, id)
}

// resolveShared is resolve answered with the cache's own, read-only
// record (see inspectManagedShared).
func (s *Service) resolveShared(ctx context.Context, typ, id string) (*container.InspectResponse, error) {
	return s.resolve(ctx, s.inspectManagedShared, typ, id)
}

// resolve inspects the managed object a full id or unique prefix names.
func (s *Service) resolve(ctx context.Context, inspect func(ctx context.Context, typ, id string) (*container.InspectResponse, error), typ, id string) (*container.InspectResponse, error) {
	if len(id) != fullIDLen {
		full, err := s.resolveID(ctx, typ, id)
		if err != nil {
			return nil, err
		}
		id = full
	}
	c, err := inspect(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if c.ID != id {
		return nil, notFoundf("%s %q", typ, id) // a name that looks like an id
	}
	return c, nil
}

// resolveIdempotent is resolveID for Stop and Remove: an unknown id is not an
// error (ok=false).
func (s *Service) resolveIdempotent(ctx context.Context, typ, id string) (full string, ok bool, err error) {
	full, err = s.resolveID(ctx, typ, id)
	if errdefs.IsNotFound(err) {
		return "", false, nil
	}
	return full, err == nil, err
}

// sandboxContainers lists the managed containers of one sandbox. The
// summaries are the cache's shared snapshots (copied shallowly): read-only,
// labels included. The cache finds them through its sandbox-id index, so a
// pod's status costs the same on a node of 10 pods or 250.
func (s *Service) sandboxContainers(ctx context.Context, sandboxID string) ([]container.Summary, error) {
	list, err := s.eng.ListShared(ctx, engine.ListOptions{
		All:    true,
		Labels: append(s.managedFilter(naming.TypeContainer), naming.LabelSandboxID+"="+sandboxID),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of sandbox %s: %w", sandboxID, err)
	}
	out := make([]container.Summary, 0, len(list))
	for _, sh := range list {
		c := sh.Summary
		if s.mine(c.Labels, naming.TypeContainer) && c.Labels[naming.LabelSandboxID] == sandboxID {
			out = append(out, *c)
		}
	}
	return out, nil
}
