// Package adopt lets dockerlet take over the pods cri-dockerd (v0.3, v0.4)
// left running, so that a kubelet switched from cri-dockerd to dockerlet
// keeps every pod: the same sandbox and container ids, restart count 0.
//
// Docker labels cannot be changed, and cri-dockerd's containers carry
// cri-dockerd's (io.kubernetes.docker.type, io.kubernetes.sandbox.id, the
// kubelet's labels and annotation.* keys), none of dockerlet's. Scan finds
// them once at start — a sandbox is adopted when cri-dockerd's root
// directory holds its checkpoint and its container carries cri-dockerd's
// sandbox labels and name; a container when it carries cri-dockerd's
// container labels and name and its sandbox is adopted — and Wrap puts an
// engine in front of Docker that shows exactly these containers with
// dockerlet's labels (internal/naming), derived from cri-dockerd's labels,
// their names and Docker's record. Everything above it (the state cache,
// the CRI service) then treats them as its own. Nothing else is touched:
// a container that neither dockerlet nor this cri-dockerd made stays
// invisible.
package adopt

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/errdefs"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// Options say whose pods to adopt and as whose.
type Options struct {
	// RootDir is cri-dockerd's --cri-dockerd-root-directory. Required.
	RootDir string
	// Owner is the adopting server's root directory (its ownership label).
	// Required.
	Owner string
	// CNICacheDir is the CNI cache directory cri-dockerd set pods up with
	// (its --cni-cache-dir); "" means DefaultCNICacheDir.
	CNICacheDir string
	Logger      *slog.Logger
}

// object is one adopted container: its type and the labels it shows.
type object struct {
	typ     string
	labels  map[string]string
	logPath string // containers: cri-dockerd's log symlink
}

// Set is what Scan adopted. It only shrinks: objects leave it when they
// are removed. Safe for concurrent use.
type Set struct {
	rootDir     string
	owner       string
	cniCacheDir string
	log         *slog.Logger

	mu      sync.RWMutex
	objects map[string]*object // by full id
	// orphans are checkpoints whose sandbox container is gone: cri-dockerd
	// listed them until the kubelet stopped and removed them, which
	// released their network (ReleaseOrphans).
	orphans map[string]*checkpoint
}

// Scan reads cri-dockerd's checkpoints and asks eng for the containers
// they name. It costs one readdir when there is nothing to adopt, and
// one listing plus an inspect per adopted container otherwise.
func Scan(ctx context.Context, eng engine.Engine, o Options) (*Set, error) {
	if o.RootDir == "" || o.Owner == "" {
		return nil, fmt.Errorf("adopt: cri-dockerd's root directory and the owner are required: %w", errdefs.ErrInvalidArgument)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CNICacheDir == "" {
		o.CNICacheDir = DefaultCNICacheDir
	}
	owner, err := filepath.Abs(o.Owner)
	if err != nil {
		return nil, err
	}
	s := &Set{
		rootDir: o.RootDir, owner: owner, cniCacheDir: o.CNICacheDir,
		log:     o.Logger.With("component", "adopt"),
		objects: map[string]*object{},
	}
	cps, err := readCheckpoints(o.RootDir, func(path string, err error) {
		s.log.Warn("cri-dockerd checkpoint unreadable; its sandbox is not adopted", "path", path, "err", err)
	})
	if err != nil || len(cps) == 0 {
		return s, err
	}
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.CRIDockerdLabelType}})
	if err != nil {
		return nil, fmt.Errorf("adopt: list cri-dockerd's containers: %w", err)
	}
	s.orphans = maps.Clone(cps)
	for _, c := range list {
		delete(s.orphans, c.ID)
	}
	// Sandboxes first: a container is adopted only with its sandbox.
	for _, want := range []string{naming.CRIDockerdTypeSandbox, naming.CRIDockerdTypeContainer} {
		for _, c := range list {
			if c.Labels[naming.CRIDockerdLabelType] != want {
				continue
			}
			if want == naming.CRIDockerdTypeSandbox && cps[c.ID] == nil {
				continue // another cri-dockerd's, or one this one forgot
			}
			if want == naming.CRIDockerdTypeContainer && s.objects[c.Labels[naming.CRIDockerdLabelSandboxID]] == nil {
				continue
			}
			if err := s.adopt(ctx, eng, c.ID, cps[c.ID]); err != nil {
				s.log.Warn("not adopted", "container", c.ID, "name", firstName(c.Names), "err", err)
			}
		}
	}
	sandboxes := 0
	for _, ob := range s.objects {
		if ob.typ == naming.TypeSandbox {
			sandboxes++
		}
	}
	s.log.Info("adopted cri-dockerd's pods", "root", o.RootDir, "checkpoints", len(cps),
		"sandboxes", sandboxes, "containers", len(s.objects)-sandboxes, "without_container", len(s.orphans))
	return s, nil
}

// adopt inspects one candidate and records what it shows. cp is its
// checkpoint (sandboxes only).
func (s *Set) adopt(ctx context.Context, eng engine.Engine, id string, cp *checkpoint) error {
	in, err := eng.InspectContainer(ctx, id)
	if err != nil {
		return err
	}
	if in.Config == nil || in.ID != id {
		return fmt.Errorf("inspect %s: no config", id)
	}
	// Ownership labels only: Docker copies an image's labels onto its
	// containers, and dockerlet's own images carry io.dockerlet.* ones.
	for _, k := range ownership {
		if _, ok := in.Config.Labels[k]; ok {
			return fmt.Errorf("carries dockerlet's label %s", k)
		}
	}
	n, err := parseName(in.Name)
	if err != nil {
		return err
	}
	ob := &object{}
	if cp != nil {
		if n.container != sandboxContainer {
			return fmt.Errorf("sandbox named %q", in.Name)
		}
		if n.pod != cp.Name || n.namespace != cp.Namespace {
			return fmt.Errorf("checkpoint names pod %s/%s, the container %s/%s", cp.Namespace, cp.Name, n.namespace, n.pod)
		}
		ob.typ = naming.TypeSandbox
		ob.labels, err = s.sandboxLabels(in, n)
	} else {
		ob.typ = naming.TypeContainer
		ob.labels, err = s.containerLabels(in, n)
		ob.logPath = in.Config.Labels[naming.CRIDockerdLabelLogPath]
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.objects[id] = ob
	s.mu.Unlock()
	return nil
}

// ownership are the labels that make a container dockerlet's own: one of
// them on a container of cri-dockerd's is not cri-dockerd's doing.
var ownership = []string{naming.LabelManaged, naming.LabelType, naming.LabelRootDir, naming.LabelAdopted}

// Len is the number of adopted objects still present.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects)
}

// IDs lists the adopted objects of type typ (naming.TypeSandbox or
// naming.TypeContainer).
func (s *Set) IDs(typ string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for id, ob := range s.objects {
		if ob.typ == typ {
			out = append(out, id)
		}
	}
	return out
}

// labelsOf returns a fresh copy of the labels id shows, or nil when id is
// not adopted. A copy: callers (the state cache) own what they are given.
func (s *Set) labelsOf(id string) map[string]string {
	s.mu.RLock()
	ob := s.objects[id]
	s.mu.RUnlock()
	if ob == nil {
		return nil
	}
	return maps.Clone(ob.labels)
}

func (s *Set) get(id string) *object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.objects[id]
}

func (s *Set) forget(id string) {
	s.mu.Lock()
	delete(s.objects, id)
	s.mu.Unlock()
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}
