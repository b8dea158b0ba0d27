// Package adopttest makes pods the way cri-dockerd v0.4 leaves them in
// Docker and on disk — names, labels, host config, checkpoint file, log
// symlink — for the tests of their adoption, over the fake engine or a
// real daemon.
package adopttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// Pod is a pod as the kubelet asked cri-dockerd for it.
type Pod struct {
	Name, Namespace, UID string
	Attempt              uint32
	// Labels and Annotations are the kubelet's (the pod's labels plus
	// io.kubernetes.pod.*; config.seen, config.source, ...).
	Labels, Annotations map[string]string
	// NetworkMode is the sandbox's: "none" (cri-dockerd's cni and kubenet
	// plugins, the default here), "default" (no plugin) or "host".
	NetworkMode string
	PauseImage  string
	// LogDirectory is the pod's log directory (/var/log/pods/<ns>_<name>_<uid>).
	LogDirectory string
	Containers   []Container
	// Start starts the sandbox and the containers, and links each
	// container's log path to Docker's log file, as StartContainer does.
	Start bool
}

// Container is one of the pod's containers as the kubelet asked for it.
type Container struct {
	Name                string
	Attempt             uint32
	Image               string
	Command             []string
	Labels, Annotations map[string]string
}

// Made is what Make created.
type Made struct {
	SandboxID    string
	ContainerIDs []string
	LogPaths     []string
}

// SandboxName and ContainerName are cri-dockerd's names (makeSandboxName,
// makeContainerName).
func SandboxName(p Pod) string {
	return strings.Join([]string{"k8s", "POD", p.Name, p.Namespace, p.UID, strconv.FormatUint(uint64(p.Attempt), 10)}, "_")
}

func ContainerName(p Pod, c Container) string {
	return strings.Join([]string{"k8s", c.Name, p.Name, p.Namespace, p.UID, strconv.FormatUint(uint64(c.Attempt), 10)}, "_")
}

// merged is cri-dockerd's makeLabels: labels as they are, annotations
// under "annotation.".
func merged(labels, annotations map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	for k, v := range annotations {
		out[naming.CRIDockerdAnnotationPrefix+k] = v
	}
	return out
}

// Make creates p in eng and writes its checkpoint under rootDir (cri-dockerd's
// --cri-dockerd-root-directory), in the order cri-dockerd does: checkpoint,
// sandbox, containers.
func Make(ctx context.Context, eng engine.Engine, rootDir string, p Pod) (*Made, error) {
	if p.NetworkMode == "" {
		p.NetworkMode = "none"
	}
	labels := merged(p.Labels, p.Annotations)
	labels[naming.CRIDockerdLabelType] = naming.CRIDockerdTypeSandbox
	labels[naming.CRIDockerdLabelContainerName] = "POD"
	// cri-dockerd sets OomScoreAdj -998 on the sandbox; a root without
	// CAP_SYS_RESOURCE (a test in a container) cannot, so it stays 0.
	spec := engine.CreateSpec{
		Name:   SandboxName(p),
		Config: &container.Config{Image: p.PauseImage, Labels: labels, Hostname: p.Name},
		HostConfig: &container.HostConfig{
			IpcMode:     "shareable",
			NetworkMode: container.NetworkMode(p.NetworkMode),
			SecurityOpt: []string{"seccomp=unconfined"},
			Resources:   container.Resources{CPUShares: 2},
		},
	}
	made := &Made{}
	var err error
	if made.SandboxID, err = eng.CreateContainer(ctx, spec); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	if err := writeCheckpoint(rootDir, made.SandboxID, p); err != nil {
		return made, err
	}
	if p.Start {
		if err := eng.StartContainer(ctx, made.SandboxID); err != nil {
			return made, fmt.Errorf("start sandbox: %w", err)
		}
	}
	for _, c := range p.Containers {
		l := merged(c.Labels, c.Annotations)
		l[naming.CRIDockerdLabelType] = naming.CRIDockerdTypeContainer
		logPath := filepath.Join(p.LogDirectory, c.Name, strconv.FormatUint(uint64(c.Attempt), 10)+".log")
		l[naming.CRIDockerdLabelLogPath] = logPath
		l[naming.CRIDockerdLabelSandboxID] = made.SandboxID
		join := container.NetworkMode("container:" + made.SandboxID)
		if p.NetworkMode == "host" {
			join = "host"
		}
		id, err := eng.CreateContainer(ctx, engine.CreateSpec{
			Name: ContainerName(p, c),
			Config: &container.Config{
				Image: c.Image, Entrypoint: c.Command, Labels: l,
				Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
			},
			HostConfig: &container.HostConfig{
				NetworkMode:   join,
				IpcMode:       container.IpcMode("container:" + made.SandboxID),
				RestartPolicy: container.RestartPolicy{Name: "no"},
				SecurityOpt:   []string{"seccomp=unconfined"},
			},
		})
		if err != nil {
			return made, fmt.Errorf("create container %s: %w", c.Name, err)
		}
		made.ContainerIDs = append(made.ContainerIDs, id)
		made.LogPaths = append(made.LogPaths, logPath)
		if !p.Start {
			continue
		}
		if err := eng.StartContainer(ctx, id); err != nil {
			return made, fmt.Errorf("start container %s: %w", c.Name, err)
		}
		if err := linkLog(ctx, eng, id, logPath); err != nil {
			return made, err
		}
	}
	return made, nil
}

// linkLog is cri-dockerd's createContainerLogSymlink: the CRI log path
// becomes a symlink to Docker's json-file log.
func linkLog(ctx context.Context, eng engine.Engine, id, path string) error {
	in, err := eng.InspectContainer(ctx, id)
	if err != nil {
		return err
	}
	if in.LogPath == "" {
		return nil // as cri-dockerd: no log file, no link
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_ = os.Remove(path)
	return os.Symlink(in.LogPath, path)
}

// writeCheckpoint writes the checkpoint as cri-dockerd's
// PodSandboxCheckpoint marshals it. The checksum is a fixed number: it is
// an FNV hash of a go-spew dump of cri-dockerd's own types, which dockerlet
// does not verify.
func writeCheckpoint(rootDir, id string, p Pod) error {
	type data struct {
		HostNetwork bool `json:"host_network,omitempty"`
	}
	cp := struct {
		Version   string `json:"version"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Data      *data  `json:"data,omitempty"`
		Checksum  uint64 `json:"checksum"`
	}{"v1", p.Name, p.Namespace, &data{HostNetwork: p.NetworkMode == "host"}, 1495347766}
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	dir := filepath.Join(rootDir, "sandbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, id), b, 0o644)
}
