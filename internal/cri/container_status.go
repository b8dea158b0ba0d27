package cri

import (
	"context"
	"encoding/json"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// Reasons reported for exited containers, as the kubelet knows them.
const (
	reasonOOMKilled = "OOMKilled"
	reasonCompleted = "Completed"
	reasonError     = "Error"
	reasonCannotRun = "ContainerCannotRun"
)

// ContainerStatus reports a container; an unknown id is NotFound.
func (s *Service) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	// The record is the cache's own: read, never modified.
	c, err := s.resolveShared(ctx, naming.TypeContainer, req.ContainerId)
	if err != nil {
		return nil, err
	}
	st := s.containerStatus(ctx, c)
	if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		s.drainExitedLog(ctx, c.ID)
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.Verbose {
		info := map[string]any{
			"sandboxID":  c.Config.Labels[naming.LabelSandboxID],
			"pid":        pidOf(c),
			"name":       c.Name,
			"config":     c.Config,
			"hostConfig": c.HostConfig,
		}
		b, _ := json.Marshal(info)
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// containerState maps Docker's state to the CRI's. A container whose start
// failed stays "created" in Docker with an error set: it is exited for CRI.
func containerState(st *container.State) runtimeapi.ContainerState {
	if st == nil {
		return runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
	switch st.Status {
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case container.StateExited, container.StateDead, container.StateRemoving:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	case container.StateCreated:
		if st.Error != "" || parseDockerTime(st.FinishedAt) != 0 {
			return runtimeapi.ContainerState_CONTAINER_EXITED
		}
		return runtimeapi.ContainerState_CONTAINER_CREATED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

func summaryState(s container.ContainerState) runtimeapi.ContainerState {
	switch s {
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case container.StateExited, container.StateDead, container.StateRemoving:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	case container.StateCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

func (s *Service) containerStatus(ctx context.Context, c *container.InspectResponse) *runtimeapi.ContainerStatus {
	l := c.Config.Labels
	labels, ann := userLabels(l)
	st := &runtimeapi.ContainerStatus{
		Id:          c.ID,
		Metadata:    containerMetadata(l),
		State:       containerState(c.State),
		CreatedAt:   createdOf(l, parseDockerTime(c.Created)/1e9),
		Image:       containerImageSpec(l),
		ImageRef:    c.Image,
		ImageId:     c.Image,
		Labels:      labels,
		Annotations: ann,
		LogPath:     l[naming.LabelLogPath],
		Mounts:      statusMounts(c),
		Resources:   statusResources(c.HostConfig),
	}
	names := s.imageNames(ctx, c.Image)
	if names.ref != "" {
		st.ImageRef = names.ref
	}
	if st.Image.UserSpecifiedImage == "" && names.tag != "" && isImageID(st.Image.Image, c.Image) {
		// Created from the image's id (as the kubelet does when it does not
		// send the name it was given): report a tag, as dockershim and
		// containerd do, so a pod's status names the image, not its id.
		st.Image.Image = names.tag
	}
	if c.State != nil {
		st.StartedAt = parseDockerTime(c.State.StartedAt)
		st.FinishedAt = parseDockerTime(c.State.FinishedAt)
		if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			st.ExitCode = int32(c.State.ExitCode)
			st.Message = c.State.Error
			switch {
			case c.State.OOMKilled:
				st.Reason = reasonOOMKilled
			case c.State.Status == container.StateCreated:
				st.Reason = reasonCannotRun
			case c.State.ExitCode == 0:
				st.Reason = reasonCompleted
			default:
				st.Reason = reasonError
			}
			if st.FinishedAt == 0 && st.Reason == reasonCannotRun {
				st.FinishedAt = st.CreatedAt
			}
		}
	}
	if sig := c.Config.StopSignal; sig != "" {
		if v, ok := runtimeapi.Signal_value["SIGNAL_"+sig]; ok {
			st.StopSignal = runtimeapi.Signal(v)
		}
	}
	return st
}

// imageNames are the image's first repo digest (the reference the kubelet
// reports as imageID) and first tag; empty when it has none or is gone.
func (s *Service) imageNames(ctx context.Context, imageID string) imageNames {
	now := time.Now()
	names, ok, gen := s.imageRefs.get(imageID, now)
	if ok {
		return names
	}
	img, err := s.eng.InspectImageByID(ctx, imageID)
	if err != nil {
		if !errdefs.IsNotFound(err) {
			s.log(ctx).Debug("inspect image for image ref failed", "image", imageID, "err", err)
			return imageNames{}
		}
		s.imageRefs.put(imageID, imageNames{}, gen, now)
		return imageNames{}
	}
	if len(img.RepoDigests) > 0 {
		names.ref = img.RepoDigests[0]
	}
	if tags := realRefs(img.RepoTags); len(tags) > 0 {
		names.tag = tags[0]
	}
	s.imageRefs.put(imageID, names, gen, now)
	return names
}

// containerImageSpec is the image a container reports: the name the
// kubelet was given (UserSpecifiedImage, sent with the image's id since
// Kubernetes 1.30) when the create request carried it, else the
// reference the container was created from.
func containerImageSpec(l map[string]string) *runtimeapi.ImageSpec {
	if u := l[naming.LabelUserImage]; u != "" {
		return &runtimeapi.ImageSpec{Image: u, UserSpecifiedImage: u}
	}
	return &runtimeapi.ImageSpec{Image: l[naming.LabelImage]}
}

func statusMounts(c *container.InspectResponse) []*runtimeapi.Mount {
	var out []*runtimeapi.Mount
	for _, m := range c.Mounts {
		switch m.Type {
		case mount.TypeBind:
			cm := &runtimeapi.Mount{ContainerPath: m.Destination, HostPath: m.Source, Readonly: !m.RW}
			switch m.Propagation {
			case mount.PropagationRSlave, mount.PropagationSlave:
				cm.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case mount.PropagationRShared, mount.PropagationShared:
				cm.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
			if spec := specMount(c, m.Destination); spec != nil && spec.BindOptions != nil {
				cm.RecursiveReadOnly = spec.BindOptions.ReadOnlyForceRecursive
			}
			out = append(out, cm)
		case mount.TypeImage:
			// The image id is what was asked for (CreateContainer resolves
			// it); Docker's own record names the image's mounted layer.
			spec := specMount(c, m.Destination)
			if spec == nil {
				continue
			}
			cm := &runtimeapi.Mount{
				ContainerPath: m.Destination, Readonly: true,
				Image: &runtimeapi.ImageSpec{Image: spec.Source, ImageRef: spec.Source},
			}
			if spec.ImageOptions != nil {
				cm.ImageSubPath = spec.ImageOptions.Subpath
			}
			out = append(out, cm)
		}
	}
	return out
}

// specMount is the Mounts entry the container was created with for target.
func specMount(c *container.InspectResponse, target string) *mount.Mount {
	if c.HostConfig == nil {
		return nil
	}
	for i := range c.HostConfig.Mounts {
		if c.HostConfig.Mounts[i].Target == target {
			return &c.HostConfig.Mounts[i]
		}
	}
	return nil
}

func statusResources(hc *container.HostConfig) *runtimeapi.ContainerResources {
	if hc == nil {
		return nil
	}
	return &runtimeapi.ContainerResources{Linux: &runtimeapi.LinuxContainerResources{
		CpuPeriod:              hc.CPUPeriod,
		CpuQuota:               hc.CPUQuota,
		CpuShares:              hc.CPUShares,
		MemoryLimitInBytes:     hc.Memory,
		OomScoreAdj:            int64(hc.OomScoreAdj),
		CpusetCpus:             hc.CpusetCpus,
		CpusetMems:             hc.CpusetMems,
		MemorySwapLimitInBytes: hc.MemorySwap,
	}}
}

// parseDockerTime turns Docker's RFC 3339 timestamps into Unix nanoseconds;
// Docker's zero time ("0001-01-01T00:00:00Z") and garbage give 0.
func parseDockerTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return 0
	}
	return t.UnixNano()
}
