package cri

import (
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// engineEnv is what translating a container's mounts and devices needs to
// know of the engine and the pod.
type engineEnv struct {
	// dockerRoot is Docker's data root (see bindPropagation).
	dockerRoot string
	features   engineFeatures
	// handler is the pod's runtime handler (its runtime's features decide
	// recursive read-only mounts).
	handler string
	// images maps the image of each image mount to its id (resolved by
	// the caller: the image must be present).
	images map[string]string
}

// mountsFor turns CRI mounts into Docker's: writable binds, and read-only
// binds before API 1.44, as Binds strings (Docker creates a missing host
// directory, as the kubelet expects); from API 1.44 on read-only binds as
// Mounts with bind options, since there a plain "ro" bind is made
// recursively read-only where the kernel can, and the CRI's readonly is not
// recursive unless recursive_read_only says so; image mounts as Mounts of
// type image (API 1.48).
func mountsFor(mounts []*runtimeapi.Mount, env engineEnv) ([]string, []mount.Mount, error) {
	var binds []string
	var out []mount.Mount
	bindOptions := apiAtLeast(env.features.api, apiBindOptionsRRO)
	for _, m := range mounts {
		if len(m.UidMappings) > 0 || len(m.GidMappings) > 0 {
			return nil, nil, unimplementedf("id-mapped mounts are not supported on Docker Engine")
		}
		if m.GetImage().GetImage() != "" {
			im, err := imageMount(m, env)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, im)
			continue
		}
		if m.RecursiveReadOnly && !env.features.recursiveReadOnly(env.handler) {
			if !bindOptions {
				return nil, nil, unimplementedf("%s", env.features.needs("recursive read-only mounts", apiBindOptionsRRO))
			}
			return nil, nil, unimplementedf("recursive read-only mounts: runtime %q of Docker %s does not list rro among its mount options, or the kernel (%s) is older than 5.12",
				env.features.runtimeOf(env.handler), env.features.version, env.features.kernel)
		}
		if strings.Contains(m.HostPath, ":") || strings.Contains(m.ContainerPath, ":") {
			return nil, nil, invalidf("mount %q→%q: a path with ':' cannot be bound on Docker", m.HostPath, m.ContainerPath)
		}
		prop := bindPropagation(m, env.dockerRoot)
		if m.Readonly && bindOptions {
			out = append(out, mount.Mount{
				Type: mount.TypeBind, Source: m.HostPath, Target: m.ContainerPath, ReadOnly: true,
				BindOptions: &mount.BindOptions{
					Propagation:            prop,
					ReadOnlyNonRecursive:   !m.RecursiveReadOnly,
					ReadOnlyForceRecursive: m.RecursiveReadOnly,
					CreateMountpoint:       true,
				},
			})
			continue
		}
		opts := []string{string(prop)}
		if m.Readonly {
			opts = []string{"ro", string(prop)}
		}
		binds = append(binds, m.HostPath+":"+m.ContainerPath+":"+strings.Join(opts, ","))
	}
	return binds, out, nil
}

// bindPropagation is the mount's propagation. Docker refuses a private bind
// whose source and its data root are prefixes of one another as strings
// ("/var/lib/dockerlet/…" under "/var/lib/docker"); such mounts are made
// rslave, which differs from rprivate only in letting host mounts
// propagate in.
func bindPropagation(m *runtimeapi.Mount, dockerRoot string) mount.Propagation {
	switch m.Propagation {
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		return mount.PropagationRSlave
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		return mount.PropagationRShared
	}
	if dockerRoot != "" && (strings.HasPrefix(m.HostPath, dockerRoot) || strings.HasPrefix(dockerRoot, m.HostPath)) {
		return mount.PropagationRSlave
	}
	return mount.PropagationRPrivate
}

// imageMount is an image volume: the image's filesystem, read-only, at the
// container path (Docker's mount of type image, API 1.48).
func imageMount(m *runtimeapi.Mount, env engineEnv) (mount.Mount, error) {
	if !env.features.imageMounts() {
		return mount.Mount{}, unimplementedf("%s", env.features.needs("image volumes", apiImageMounts))
	}
	id := env.images[m.Image.Image]
	if id == "" {
		return mount.Mount{}, notFoundf("image volume %q: the image is not present (pull it first)", m.Image.Image)
	}
	im := mount.Mount{Type: mount.TypeImage, Source: id, Target: m.ContainerPath, ReadOnly: true}
	if m.ImageSubPath != "" {
		im.ImageOptions = &mount.ImageOptions{Subpath: filepath.Clean(m.ImageSubPath)}
	}
	return im, nil
}

// cdiRequests asks Docker's CDI device driver for the container's CDI
// devices ("vendor.com/class=name"), where the daemon has CDI enabled.
func cdiRequests(devs []*runtimeapi.CDIDevice, f engineFeatures) ([]container.DeviceRequest, error) {
	if len(devs) == 0 {
		return nil, nil
	}
	if !f.cdi {
		if !apiAtLeast(f.api, apiBindOptionsRRO) {
			return nil, unimplementedf("%s", f.needs("CDI devices", apiBindOptionsRRO))
		}
		return nil, unimplementedf("CDI devices: Docker %s has CDI disabled (no CDI spec directories; see the daemon's cdi-spec-dirs and features.cdi)", f.version)
	}
	ids := make([]string, 0, len(devs))
	for _, d := range devs {
		ids = append(ids, d.Name)
	}
	return []container.DeviceRequest{{Driver: "cdi", DeviceIDs: ids}}, nil
}
