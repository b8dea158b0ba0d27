package cri

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// ImageFsInfo reports the image filesystem: the stats collector's view, or
// without one Docker's root directory (the containerd snapshotter's
// directory under it with Docker's containerd image store).
func (s *Service) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	if s.cfg.Stats != nil {
		return s.cfg.Stats.ImageFsInfo(ctx)
	}
	info, err := s.eng.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine info: %w", err)
	}
	root := info.DockerRootDir
	if snap := engine.Snapshotter(info); snap != "" {
		if dir := engine.SnapshotterDir(root, snap); dir != "" {
			root = dir
		}
	}
	imgs, err := s.eng.ListImages(ctx, engine.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var used uint64
	for _, i := range imgs {
		used += uint64(max(i.Size, 0))
	}
	usage := &runtimeapi.FilesystemUsage{
		Timestamp: nowNano(),
		FsId:      &runtimeapi.FilesystemIdentifier{Mountpoint: root},
		UsedBytes: &runtimeapi.UInt64Value{Value: used},
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil {
		usage.InodesUsed = &runtimeapi.UInt64Value{Value: st.Files - st.Ffree}
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{usage}}, nil
}
