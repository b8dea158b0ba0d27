package cri

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// sandboxStopTimeout is the pause container's grace period: none. pause
// holds nothing to flush, and a pause that has not yet installed its
// SIGTERM handler would otherwise cost a full grace period. StopPodSandbox
// therefore kills it at once (killNow): Docker's stop with a zero timeout
// would send SIGTERM first, then SIGKILL, recording the container's state
// on disk for each signal.
const sandboxStopTimeout = 0

// StopPodSandbox stops every container of the sandbox (without grace: the
// kubelet stops them gracefully before), tears the network down and stops the
// pause container. An unknown id is success.
func (s *Service) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	id, ok, err := s.resolveIdempotent(ctx, naming.TypeSandbox, req.PodSandboxId)
	if err != nil {
		return nil, err
	}
	if !ok {
		id = req.PodSandboxId // a checkpoint may still name it
	}
	unlock, err := s.locks.lock(ctx, lockSandbox, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !ok {
		// The container may be gone while its network is not.
		if err := s.teardownFromCheckpoint(ctx, req.PodSandboxId, nil, true); err != nil {
			return nil, err
		}
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	if err := s.stopSandbox(ctx, id); err != nil {
		return nil, err
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (s *Service) stopSandbox(ctx context.Context, id string) error {
	ctrs, err := s.sandboxContainers(ctx, id)
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if c.State == container.StateExited || c.State == container.StateCreated || c.State == container.StateDead {
			continue
		}
		if err := s.killNow(ctx, c.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s of sandbox %s: %w", c.ID, id, err)
		}
	}
	sb, err := s.eng.InspectContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return s.teardownFromCheckpoint(ctx, id, nil, true)
	}
	if err != nil {
		return fmt.Errorf("inspect sandbox %s: %w", id, err)
	}
	if err := s.teardownFromCheckpoint(ctx, id, sb, true); err != nil {
		return err
	}
	if sb.State != nil && sb.State.Running {
		if err := s.killNow(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop sandbox container %s: %w", id, err)
		}
	}
	return nil
}

// teardownFromCheckpoint releases the network of a sandbox. sb may be nil
// (the container is gone); the checkpoint then says what to release.
// Once released (remember: a stop, whose checkpoint stays), the checkpoint
// says so and later calls release nothing: no sandbox's network comes back
// up after it was stopped, since a pod's next attempt is a new sandbox.
func (s *Service) teardownFromCheckpoint(ctx context.Context, id string, sb *container.InspectResponse, remember bool) error {
	if !checkpointIDRE.MatchString(id) {
		return nil // not a full id: nothing of ours can be left
	}
	cp, err := s.ckpt.Load(id)
	if err != nil {
		s.log(ctx).Warn("sandbox checkpoint unreadable; network teardown from labels", "sandbox", id, "err", err)
	}
	if cp != nil && cp.NetworkDown {
		return nil
	}
	var pod *PodNetwork
	if cp != nil {
		pod = cp.Pod
	}
	if pod == nil {
		if sb == nil {
			return nil
		}
		pod = podFromInspect(sb)
	}
	netns := ""
	if sb != nil && sb.State != nil && sb.State.Running && !pod.HostNetwork {
		netns = netnsPath0(sb.State.Pid)
	}
	if err := s.cfg.Network.TearDown(ctx, pod, netns); err != nil {
		return fmt.Errorf("network %s: tear down sandbox %s: %w", s.cfg.Network.Name(), id, err)
	}
	if remember && cp == nil && sb != nil && adopted(sb.Config.Labels) {
		// An adopted sandbox has no checkpoint of dockerlet's yet: this
		// one records the release, so that its removal runs no second DEL.
		cp = &sandboxCheckpoint{ID: id, Pod: pod, Complete: true}
	}
	if remember && cp != nil {
		cp.NetworkDown = true
		if err := s.ckpt.Save(cp); err != nil {
			// It costs only a second, idempotent teardown at removal.
			s.log(ctx).Warn("recording the released network in the checkpoint", "sandbox", id, "err", err)
		}
	}
	return nil
}

// podFromInspect rebuilds the network description from the labels.
func podFromInspect(sb *container.InspectResponse) *PodNetwork {
	l := sb.Config.Labels
	_, ann := userLabels(l)
	p := &PodNetwork{
		ID: sb.ID, Name: l[naming.LabelPodName], Namespace: l[naming.LabelPodNamespace], UID: l[naming.LabelPodUID],
		HostNetwork: namespaceOptionsOf(l).Network == runtimeapi.NamespaceMode_NODE,
		Annotations: ann,
		CNICacheDir: l[naming.LabelCNICacheDir],
	}
	if sb.HostConfig != nil {
		p.CgroupParent = sb.HostConfig.CgroupParent
	}
	return p
}
