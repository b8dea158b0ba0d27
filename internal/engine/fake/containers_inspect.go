package fake

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// What Docker's inspect shows of a fake container.

// InspectContainer implements engine.Engine.
func (f *Fake) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	if err := f.enter(ctx, "InspectContainer"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	r := f.inspectLocked(c)
	return &r, nil
}

func (f *Fake) inspectLocked(c *ctr) container.InspectResponse {
	cfg := clone(*c.spec.Config)
	var path string
	var args []string
	cmd := append(append([]string(nil), cfg.Entrypoint...), cfg.Cmd...)
	if len(cmd) > 0 {
		path, args = cmd[0], cmd[1:]
	}
	st := c.state
	r := container.InspectResponse{
		ID:           c.id,
		Created:      c.created.Format(time.RFC3339Nano),
		Path:         path,
		Args:         args,
		State:        &st,
		Image:        c.imageID,
		Name:         "/" + c.name,
		RestartCount: c.restartCnt,
		Driver:       "fake",
		Platform:     "linux",
		LogPath:      "/var/lib/docker/containers/" + c.id + "/" + c.id + "-json.log",
		ExecIDs:      append([]string(nil), c.execIDs...),
		HostConfig:   new(clone(*c.spec.HostConfig)),
		Config:       &cfg,
		NetworkSettings: &container.NetworkSettings{
			SandboxID: c.id,
			Networks:  c.networks(),
		},
		// Docker always reports the storage driver; code reading it must
		// not meet a nil here that it would never meet on Docker.
		GraphDriver: &storage.DriverData{Name: "fake", Data: map[string]string{}},
		Mounts:      mountPoints(c.spec.HostConfig),
	}
	return clone(r)
}

// mountPoints mimics the Mounts of Docker's inspect: one per bind string
// ("src:dst[:opts]") and per Mounts entry, read-only as asked.
func mountPoints(hc *container.HostConfig) []container.MountPoint {
	var out []container.MountPoint
	for _, b := range hc.Binds {
		parts := strings.SplitN(b, ":", 3)
		if len(parts) < 2 {
			continue
		}
		mp := container.MountPoint{Type: mount.TypeBind, Source: parts[0], Destination: parts[1], RW: true, Propagation: mount.PropagationRPrivate}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					mp.RW = false
				case string(mount.PropagationRSlave), string(mount.PropagationRShared), string(mount.PropagationRPrivate):
					mp.Propagation = mount.Propagation(o)
				}
			}
		}
		out = append(out, mp)
	}
	for _, m := range hc.Mounts {
		mp := container.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		if m.BindOptions != nil {
			mp.Propagation = m.BindOptions.Propagation
		}
		if m.Type == mount.TypeImage {
			// Docker reports where it mounted the image's layer.
			mp.Source = "/var/lib/docker/rootfs/image/" + strings.TrimPrefix(m.Source, "sha256:")
		}
		out = append(out, mp)
	}
	return out
}

// networks mimics Docker's view of a container's endpoints: host and none
// modes have their named network, bridge (the default) and user networks
// an endpoint whose address is set only while the container runs, and a
// container joined to another's namespace has none.
func (c *ctr) networks() map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	if c.spec.Networking != nil {
		out = clone(c.spec.Networking.EndpointsConfig)
	}
	mode := string(c.spec.HostConfig.NetworkMode)
	switch {
	case mode == "host" || mode == "none":
		out[mode] = &network.EndpointSettings{NetworkID: "fake-" + mode}
	case strings.HasPrefix(mode, "container:"):
	default:
		if mode == "" || mode == "default" {
			mode = "bridge"
		}
		ep := &network.EndpointSettings{NetworkID: "fake-" + mode}
		if c.state.Running {
			ep.IPAddress = c.ip
			ep.Gateway = netip.AddrFrom4([4]byte{172, 17, 0, 1})
			ep.IPPrefixLen = 16
		}
		out[mode] = ep
	}
	return out
}
