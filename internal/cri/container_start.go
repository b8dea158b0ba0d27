package cri

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer starts a created container and its log copier.
func (s *Service) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	if err := validateID("container", req.ContainerId); err != nil {
		return nil, err
	}
	c, err := s.resolveContainer(ctx, req.ContainerId)
	if err != nil {
		return nil, err
	}
	logPath := c.Config.Labels[labelLogPath]
	if logPath != "" {
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
			return nil, fmt.Errorf("container log directory: %w", err)
		}
	}
	if err := s.eng.StartContainer(ctx, c.ID); err != nil {
		if c.HostConfig != nil && (c.HostConfig.Privileged || slices.Contains(c.HostConfig.CapAdd, "ALL")) && !s.oomAdj.canLower {
			return nil, fmt.Errorf("privileged container: this host withholds capabilities from root "+
				"(no CAP_SYS_RESOURCE), so the engine cannot grant a privileged container all of them: %w", err)
		}
		return nil, err
	}
	if logPath != "" && s.cfg.Logs != nil {
		if err := s.cfg.Logs.Start(context.WithoutCancel(ctx), c.ID, logPath); err != nil {
			// The container runs; its log can be resumed later (Start is
			// idempotent and resumes), so this is not a start failure.
			s.log(ctx).Warn("starting the log copier failed", "container", c.ID, "err", err)
		}
	}
	return &runtimeapi.StartContainerResponse{}, nil
}
