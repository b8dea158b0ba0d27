package cri

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// CreateContainer creates a container in a running sandbox. The image must
// be present (the kubelet pulls first).
func (s *Service) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	if err := validateID("pod sandbox", req.PodSandboxId); err != nil {
		return nil, err
	}
	cfg := req.GetConfig()
	if err := validateContainerConfig(cfg); err != nil {
		return nil, err
	}
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
		return nil, fmt.Errorf("pod sandbox %s is not ready: %w", sb.ID, errFailedPrecondition)
	}
	img, err := imgref.Resolve(ctx, s.eng, cfg.Image.Image)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, notFoundf("image %q is not present (pull it first)", cfg.Image.Image)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image %q: %w", cfg.Image.Image, err)
	}
	facts, err := s.daemonFacts(ctx)
	if err != nil {
		return nil, err
	}
	in := containerInput{cfg: cfg, sandbox: sb, image: img, dockerRoot: facts.rootDir}
	logDir := sb.Config.Labels[labelLogDir]
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
	if errors.Is(err, engine.ErrConflict) {
		return nil, fmt.Errorf("container %s: %w: %w", spec.Name, errAlreadyExists, err)
	}
	if errors.Is(err, engine.ErrCannotJoin) {
		return nil, s.sandboxUnjoinable(ctx, sb.ID, spec.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	s.log(ctx).Info("container created", "container", id, "name", spec.Name)
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}
