package cri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// CreateContainer creates a container in a running sandbox. The image must
// be present (the kubelet pulls first).
func (s *Service) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	cfg := req.GetConfig()
	// A full id needs no resolution here: the inspect under the lock
	// checks it (an id that is not one of our sandboxes is NotFound there).
	sbID := req.PodSandboxId
	if len(sbID) != fullIDLen {
		full, err := s.resolveID(ctx, naming.TypeSandbox, sbID)
		if err != nil {
			return nil, err
		}
		sbID = full
	}
	// Shared: containers of one pod are created concurrently, but never
	// while the pod is stopped or removed (its container list would miss
	// this one, which would outlive its sandbox).
	unlock, err := s.locks.rlock(ctx, lockSandbox, sbID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	sb, err := s.resolveSandbox(ctx, sbID) // fresh, under the lock
	if err != nil {
		return nil, err
	}
	if sb.State == nil || !sb.State.Running {
		return nil, fmt.Errorf("pod sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	img, err := imgref.Resolve(ctx, s.eng, cfg.Image.Image)
	if errdefs.IsNotFound(err) {
		return nil, notFoundf("image %q is not present (pull it first)", cfg.Image.Image)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %q: %w", cfg.Image.Image, err)
	}
	facts, err := s.daemonFacts(ctx)
	if err != nil {
		return nil, err
	}
	env := engineEnv{dockerRoot: facts.rootDir, features: facts.features, handler: sb.Config.Labels[naming.LabelRuntimeHandler]}
	if env.images, err = s.imageVolumes(ctx, cfg.Mounts); err != nil {
		return nil, err
	}
	in := containerInput{cfg: cfg, sandbox: sb, image: img, env: env}
	logDir := sb.Config.Labels[naming.LabelLogDir]
	if logDir == "" {
		logDir = req.GetSandboxConfig().GetLogDirectory()
	}
	if logDir != "" && cfg.LogPath != "" {
		// Validation keeps LogPath local ("..", absolute refused); symlinks
		// below logDir are the log copier's to refuse (crilog.logFile).
		in.logDir = logDir
		in.logPath = filepath.Join(logDir, cfg.LogPath)
		if len(in.logPath) > maxPath {
			return nil, invalidf("container log path of %d bytes under the pod's log directory (at most %d)", len(in.logPath), maxPath)
		}
	}
	if ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(); ns.GetPid() == runtimeapi.NamespaceMode_TARGET {
		target, err := s.resolveID(ctx, naming.TypeContainer, ns.TargetId)
		if err != nil {
			return nil, fmt.Errorf("pid namespace target: %w", err)
		}
		in.pidTarget = target
	}
	spec, err := s.containerSpec(in)
	if err != nil {
		return nil, err
	}
	s.markOwned(spec)
	id, err := s.eng.CreateContainer(ctx, spec)
	if errdefs.IsConflict(err) {
		return nil, fmt.Errorf("container %s: %w: %w", spec.Name, errdefs.ErrAlreadyExists, err)
	}
	if errors.Is(err, engine.ErrCannotJoin) {
		return nil, s.sandboxUnjoinable(ctx, sb.ID, spec.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	if err := s.checkImageSubPaths(ctx, id, spec); err != nil {
		return nil, err
	}
	s.log(ctx).Info("container created", "container", id, "name", spec.Name)
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

// imageVolumes resolves the images of the container's image volumes to
// their ids: present images only, as for the container's own image.
func (s *Service) imageVolumes(ctx context.Context, mounts []*runtimeapi.Mount) (map[string]string, error) {
	var ids map[string]string
	for _, m := range mounts {
		ref := m.GetImage().GetImage()
		if ref == "" {
			continue
		}
		img, err := imgref.Resolve(ctx, s.eng, ref)
		if errdefs.IsNotFound(err) {
			return nil, notFoundf("image volume %q: the image is not present (pull it first)", ref)
		}
		if err != nil {
			return nil, fmt.Errorf("inspect image volume %q: %w", ref, err)
		}
		if ids == nil {
			ids = map[string]string{}
		}
		ids[ref] = img.ID
	}
	return ids, nil
}

// checkImageSubPaths refuses an image volume whose sub path the image does
// not have, at create as the CRI asks (Docker finds out only at start).
// Docker mounts an image volume's filesystem when it creates the container
// and reports where: the sub path is looked up there, resolved inside it.
// Where that directory cannot be read (a daemon on another host), start
// says it instead.
func (s *Service) checkImageSubPaths(ctx context.Context, id string, spec engine.CreateSpec) error {
	want := map[string]string{} // container path → sub path
	for _, m := range spec.HostConfig.Mounts {
		if m.Type == mount.TypeImage && m.ImageOptions != nil && m.ImageOptions.Subpath != "" {
			want[m.Target] = m.ImageOptions.Subpath
		}
	}
	if len(want) == 0 {
		return nil
	}
	in, err := s.eng.InspectContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect created container %s: %w", id, err)
	}
	for _, mp := range in.Mounts {
		sub, ok := want[mp.Destination]
		if !ok || mp.Type != mount.TypeImage {
			continue
		}
		if _, err := os.Stat(mp.Source); err != nil {
			continue
		}
		p, err := securejoin.SecureJoin(mp.Source, sub)
		if err == nil {
			_, err = os.Stat(p)
		}
		if err == nil {
			continue
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		if rerr := s.eng.RemoveContainer(rctx, id, engine.RemoveOptions{Force: true}); rerr != nil && !errdefs.IsNotFound(rerr) {
			s.log(ctx).Warn("remove container after a missing image sub path", "container", id, "err", rerr)
		}
		cancel()
		return invalidf("image volume at %q: sub path %q is not in the image (%v)", mp.Destination, sub, err)
	}
	return nil
}
