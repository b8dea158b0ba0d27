package cri

import (
	"context"
	"fmt"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RuntimeConfig reports the cgroup driver Docker uses, read once from
// `docker info`.
func (s *Service) RuntimeConfig(ctx context.Context, _ *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	driver, err := s.CgroupDriver(ctx)
	if err != nil {
		return nil, err
	}
	d := runtimeapi.CgroupDriver_CGROUPFS
	if driver == "systemd" {
		d = runtimeapi.CgroupDriver_SYSTEMD
	}
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: d}}, nil
}

// CgroupDriver returns Docker's cgroup driver ("cgroupfs" or "systemd").
func (s *Service) CgroupDriver(ctx context.Context) (string, error) {
	f, err := s.daemonFacts(ctx)
	return f.cgroupDriver, err
}

// daemonFacts are the parts of `docker info` that stay fixed while dockerd
// runs; they are asked for once.
type daemonFacts struct {
	cgroupDriver string // "cgroupfs" or "systemd"
	rootDir      string // Docker's data root, e.g. /var/lib/docker
	features     engineFeatures
}

func (s *Service) daemonFacts(ctx context.Context) (daemonFacts, error) {
	s.mu.Lock()
	f := s.facts
	s.mu.Unlock()
	if f.cgroupDriver != "" {
		return f, nil
	}
	info, err := s.eng.Info(ctx)
	if err != nil {
		return daemonFacts{}, fmt.Errorf("engine info: %w", err)
	}
	// After Info the client has negotiated: Version's APIVersion is what
	// every later call speaks.
	v, err := s.eng.Version(ctx)
	if err != nil {
		return daemonFacts{}, fmt.Errorf("engine version: %w", err)
	}
	f = daemonFacts{
		cgroupDriver: strings.ToLower(info.CgroupDriver),
		rootDir:      info.DockerRootDir,
		features:     newEngineFeatures(v.Version, v.APIVersion, info),
	}
	if f.cgroupDriver == "" {
		f.cgroupDriver = "cgroupfs"
	}
	s.mu.Lock()
	s.facts = f
	s.mu.Unlock()
	return f, nil
}

// UpdateRuntimeConfig stores the node's pod CIDR (the kubelet sends it once
// the node has one).
func (s *Service) UpdateRuntimeConfig(ctx context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	if cidr == "" {
		return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
	}
	s.mu.Lock()
	changed := s.podCIDR != cidr
	s.podCIDR = cidr
	s.mu.Unlock()
	if changed {
		s.log(ctx).Info("pod CIDR set", "cidr", cidr)
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}
