package fake

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ListContainers implements engine.Engine with Docker's filter semantics:
// without All only running containers are listed, unless a status filter
// is given; labels must all match; IDs match by prefix; Names are regular
// expressions matched against the name.
func (f *Fake) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	if err := f.enter(ctx, "ListContainers"); err != nil {
		return nil, err
	}
	var nameREs []*regexp.Regexp
	for _, n := range opts.Names {
		re, err := regexp.Compile(n)
		if err != nil {
			return nil, invalid("bad name filter %q: %v", n, err)
		}
		nameREs = append(nameREs, re)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for _, c := range f.containers {
		if !opts.All && len(opts.Status) == 0 && !c.state.Running {
			continue
		}
		if len(opts.Status) > 0 && !slices.Contains(opts.Status, string(c.state.Status)) {
			continue
		}
		if !matchLabels(c.spec.Config.Labels, opts.Labels) {
			continue
		}
		if len(opts.IDs) > 0 && !slices.ContainsFunc(opts.IDs, func(p string) bool { return strings.HasPrefix(c.id, p) }) {
			continue
		}
		if len(nameREs) > 0 && !slices.ContainsFunc(nameREs, func(re *regexp.Regexp) bool {
			return re.MatchString("/" + c.name)
		}) {
			continue
		}
		out = append(out, f.summaryLocked(c))
	}
	// Newest first, as Docker lists.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	return out, nil
}

func (f *Fake) summaryLocked(c *ctr) container.Summary {
	cmd := append(append([]string(nil), c.spec.Config.Entrypoint...), c.spec.Config.Cmd...)
	s := container.Summary{
		ID:      c.id,
		Names:   []string{"/" + c.name},
		Image:   c.spec.Config.Image,
		ImageID: c.imageID,
		Command: strings.Join(cmd, " "),
		Created: c.created.Unix(),
		Labels:  clone(c.spec.Config.Labels),
		State:   c.state.Status,
		Status:  f.statusLocked(c),
	}
	s.HostConfig.NetworkMode = string(c.spec.HostConfig.NetworkMode)
	return s
}

func (f *Fake) statusLocked(c *ctr) string {
	switch c.state.Status {
	case container.StateRunning:
		started, _ := time.Parse(time.RFC3339Nano, c.state.StartedAt)
		return "Up " + f.Now().Sub(started).Round(time.Second).String()
	case container.StateExited:
		finished, _ := time.Parse(time.RFC3339Nano, c.state.FinishedAt)
		return fmt.Sprintf("Exited (%d) %s ago", c.state.ExitCode, f.Now().Sub(finished).Round(time.Second))
	default:
		return "Created"
	}
}

// matchLabels reports whether labels satisfy every "key" or "key=value"
// filter.
func matchLabels(labels map[string]string, filters []string) bool {
	for _, flt := range filters {
		k, v, hasValue := strings.Cut(flt, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}
