package adopt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// Wrap returns eng as dockerlet sees it once the set is adopted: the
// adopted containers listed, inspected and streamed with dockerlet's
// labels. With nothing adopted it returns eng itself, so that a node
// with nothing to adopt pays nothing on any call.
func (s *Set) Wrap(eng engine.Engine) engine.Engine {
	if s == nil || s.Len() == 0 {
		return eng
	}
	return &adopting{Engine: eng, set: s}
}

// adopting is the engine Wrap returns. The state cache sits above it, so
// its extra listing runs at the cache's resyncs, not at every relist.
type adopting struct {
	engine.Engine
	set *Set
}

var _ engine.Engine = (*adopting)(nil)

// ListContainers adds the adopted containers that match opts: Docker
// cannot match dockerlet's label filters on them, so they are listed by
// cri-dockerd's type label (with opts' other filters) and matched here.
func (e *adopting) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	list, err := e.Engine.ListContainers(ctx, opts)
	if err != nil || e.set.Len() == 0 {
		return list, err
	}
	// A listing without dockerlet's labels (by name, say) has them
	// already: shown with their adopted labels, which keep cri-dockerd's.
	seen := map[string]bool{}
	for i := range list {
		if l := e.set.labelsOf(list[i].ID); l != nil {
			list[i].Labels = l
			seen[list[i].ID] = true
		}
	}
	o := opts
	o.Labels = []string{naming.CRIDockerdLabelType}
	more, err := e.Engine.ListContainers(ctx, o)
	if err != nil {
		return nil, err
	}
	for _, c := range more {
		if seen[c.ID] {
			continue
		}
		l := e.set.labelsOf(c.ID)
		if l == nil || !matchLabels(l, opts.Labels) {
			continue
		}
		c.Labels = l
		list = append(list, c)
	}
	return list, nil
}

// InspectContainer shows an adopted container with its adopted labels.
func (e *adopting) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	in, err := e.Engine.InspectContainer(ctx, id)
	if err != nil || in == nil || in.Config == nil {
		return in, err
	}
	l := e.set.labelsOf(in.ID)
	if l == nil {
		return in, nil
	}
	out := *in
	cfg := *in.Config
	cfg.Labels = l
	out.Config = &cfg
	return &out, nil
}

// RemoveContainer removes an adopted container and what cri-dockerd
// would have removed with it: a container's log symlink (Docker removes
// the json-file log it points to), a sandbox's checkpoint (or a
// cri-dockerd started later would list the pod again).
func (e *adopting) RemoveContainer(ctx context.Context, id string, opts engine.RemoveOptions) error {
	err := e.Engine.RemoveContainer(ctx, id, opts)
	if err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	if ob := e.set.get(id); ob != nil {
		e.cleanUp(id, ob)
	}
	return err
}

func (e *adopting) cleanUp(id string, ob *object) {
	switch ob.typ {
	case naming.TypeSandbox:
		p := filepath.Join(e.set.rootDir, checkpointDir, id)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			e.set.log.Warn("removing cri-dockerd's checkpoint of a removed sandbox", "sandbox", id, "err", err)
		}
	case naming.TypeContainer:
		if ob.logPath != "" {
			if fi, err := os.Lstat(ob.logPath); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				if err := os.Remove(ob.logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
					e.set.log.Warn("removing cri-dockerd's log symlink of a removed container", "container", id, "err", err)
				}
			}
		}
	}
	e.set.forget(id)
}

// Events adds the adopted containers' events to opts' stream: a second
// subscription, by cri-dockerd's type label, passes on only theirs.
func (e *adopting) Events(ctx context.Context, opts engine.EventsOptions) (<-chan engine.Event, <-chan error) {
	if e.set.Len() == 0 || len(opts.Labels) == 0 {
		return e.Engine.Events(ctx, opts) // unfiltered, it has theirs
	}
	ctx, cancel := context.WithCancel(ctx)
	own, ownErr := e.Engine.Events(ctx, opts)
	o := opts
	o.Labels = []string{naming.CRIDockerdLabelType}
	theirs, theirErr := e.Engine.Events(ctx, o)
	out := make(chan engine.Event)
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		for {
			var ev engine.Event
			select {
			case ev = <-own:
			case ev = <-theirs:
				if e.set.get(ev.ContainerID) == nil {
					continue
				}
			case err := <-ownErr:
				errc <- err
				return
			case err := <-theirErr:
				errc <- err
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return out, errc
}

// matchLabels reports whether labels satisfy every "key" or "key=value"
// filter, as Docker's label filter does.
func matchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, hasValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}
