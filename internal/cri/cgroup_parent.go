package cri

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/errdefs"
)

// dockerCgroupParent turns the pod cgroup the kubelet sends into the
// CgroupParent Docker's cgroup driver accepts.
//
// With the systemd driver the kubelet sends the pod slice's full path
// (/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice)
// but Docker wants a slice name: it builds "<parent>:docker:<id>" for runc,
// and runc expands the name into the path again. The last element is that
// name (cri-dockerd passes the same). With the cgroupfs driver the path is
// Docker's as is.
//
// A kubelet and a Docker with different drivers would make pods that never
// start (runc rejects a path where it wants a slice) or cgroups that two
// managers fight over; that is refused here with the fix in the message, so
// the kubelet's log says what to change. Kubelets from 1.31 on ask
// RuntimeConfig and follow Docker's driver, so only an older or pinned
// kubelet gets here.
func (s *Service) dockerCgroupParent(ctx context.Context, parent string) (string, error) {
	if parent == "" {
		return "", nil
	}
	driver, err := s.CgroupDriver(ctx)
	if err != nil {
		return "", err
	}
	return cgroupParentFor(driver, parent)
}

func cgroupParentFor(driver, parent string) (string, error) {
	if parent == "" {
		return "", nil
	}
	base := path.Base(parent)
	slice := strings.HasSuffix(base, ".slice")
	switch {
	case driver == "systemd" && !slice:
		return "", fmt.Errorf("cgroup parent %q is a cgroupfs path, but Docker uses the systemd cgroup driver: "+
			"set cgroupDriver: systemd in the kubelet's configuration (--cgroup-driver=systemd), "+
			"or run Docker with --exec-opt native.cgroupdriver=cgroupfs: %w", parent, errdefs.ErrFailedPrecondition)
	case driver == "systemd":
		return base, nil
	case slice:
		return "", fmt.Errorf("cgroup parent %q is a systemd slice, but Docker uses the cgroupfs cgroup driver: "+
			"set cgroupDriver: cgroupfs in the kubelet's configuration (--cgroup-driver=cgroupfs), "+
			"or run Docker with --exec-opt native.cgroupdriver=systemd: %w", parent, errdefs.ErrFailedPrecondition)
	}
	return parent, nil
}
