package cache

import (
	"slices"
	"unique"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// The cache holds a record of every container for as long as it exists,
// so at a few hundred pods those records are most of dockerlet's heap
// (a Docker 20.10 inspect decodes to ~9 KiB). slim keeps what the cache's
// readers use (internal/cri, network, crilog, streaming, and the cache's
// own listing and change tracking) and drops what none of them reads:
//
//   - ResolvConfPath, HostnamePath, HostsPath, LogPath: Docker's own files
//     (dockerlet's log path is a label);
//   - Driver, Platform, MountLabel, ProcessLabel, AppArmorProfile, ExecIDs,
//     SizeRw, SizeRootFs, Storage;
//   - GraphDriver.Data but UpperDir, the writable layer stats measure;
//   - NetworkSettings.SandboxID and SandboxKey, and the endpoints'
//     Aliases, DNSNames and Links;
//   - State.Health.Log (probe output; a listing shows the status alone).
//
// Config and HostConfig stay whole: a verbose ContainerStatus shows them.
// A caller of InspectContainer that needs a dropped field must ask the
// engine itself (and TestSlimKeepsWhatReadersUse must learn of it).
//
// Strings are shared rather than copied per record: those most records
// carry (dockerlet's label keys, usual values) are constants; others that
// many records repeat (user label keys and values, the image, env entries)
// are interned, with the handles that keep them canonical held by the
// entry, so that a string no live record uses is freed; a pod's own
// strings (its name, uid, sandbox id, cgroup) are taken from its
// sandbox's record.

// slim returns the record the cache keeps for in and the handles of the
// strings it interned. sandbox, when known, is the cached record of in's
// sandbox. slim builds new values wherever it changes one and never
// modifies in, which the engine may share.
func slim(in, sandbox *container.InspectResponse) (*container.InspectResponse, []unique.Handle[string]) {
	var t interner
	t.seed(sandbox)
	out := *in // an allocation of its own; see store
	out.ResolvConfPath, out.HostnamePath, out.HostsPath, out.LogPath = "", "", "", ""
	out.Driver, out.Platform, out.MountLabel, out.ProcessLabel, out.AppArmorProfile = "", "", "", "", ""
	out.ExecIDs, out.SizeRw, out.SizeRootFs, out.Storage = nil, nil, nil, nil
	out.Image, out.Path, out.Args = t.str(in.Image), t.str(in.Path), t.strs(in.Args)
	if in.GraphDriver != nil {
		gd := &storage.DriverData{Name: t.str(in.GraphDriver.Name)}
		if upper, ok := in.GraphDriver.Data["UpperDir"]; ok {
			gd.Data = map[string]string{"UpperDir": upper}
		}
		out.GraphDriver = gd
	}
	if in.State != nil {
		st := *in.State
		st.Status = container.ContainerState(t.own(string(st.Status)))
		st.StartedAt, st.FinishedAt = t.own(st.StartedAt), t.own(st.FinishedAt)
		if st.Health != nil {
			st.Health = &container.Health{Status: st.Health.Status, FailingStreak: st.Health.FailingStreak}
		}
		out.State = &st
	}
	if in.Config != nil {
		cfg := *in.Config
		cfg.Labels = t.labels(cfg.Labels)
		cfg.Hostname = t.own(cfg.Hostname)
		cfg.Image, cfg.WorkingDir, cfg.User = t.str(cfg.Image), t.str(cfg.WorkingDir), t.str(cfg.User)
		cfg.Env, cfg.Entrypoint, cfg.Cmd = t.strs(cfg.Env), t.strs(cfg.Entrypoint), t.strs(cfg.Cmd)
		out.Config = &cfg
	}
	if in.HostConfig != nil {
		hc := *in.HostConfig
		// "container:<sandbox id>" thrice in a container: one copy.
		hc.NetworkMode = container.NetworkMode(t.own(string(hc.NetworkMode)))
		hc.IpcMode = container.IpcMode(t.own(string(hc.IpcMode)))
		hc.PidMode = container.PidMode(t.own(string(hc.PidMode)))
		hc.CgroupParent = t.own(hc.CgroupParent)
		hc.Runtime, hc.LogConfig.Type = t.str(hc.Runtime), t.str(hc.LogConfig.Type)
		hc.SecurityOpt = t.list(hc.SecurityOpt)
		hc.MaskedPaths, hc.ReadonlyPaths = t.list(hc.MaskedPaths), t.list(hc.ReadonlyPaths)
		out.HostConfig = &hc
	}
	if in.Mounts != nil {
		out.Mounts = slices.Clone(in.Mounts)
		for i := range out.Mounts {
			m := &out.Mounts[i]
			m.Source = bindSource(m.Source, out.HostConfig)
			m.Destination, m.Mode, m.Driver = t.str(m.Destination), t.str(m.Mode), t.str(m.Driver)
			m.Type, m.Propagation = mount.Type(t.str(string(m.Type))), mount.Propagation(t.str(string(m.Propagation)))
		}
	}
	if in.NetworkSettings != nil {
		ns := *in.NetworkSettings
		ns.SandboxID, ns.SandboxKey = "", ""
		if ns.Networks != nil {
			ns.Networks = make(map[string]*network.EndpointSettings, len(in.NetworkSettings.Networks))
			for name, ep := range in.NetworkSettings.Networks {
				if ep != nil {
					c := *ep
					c.NetworkID = t.str(c.NetworkID)
					c.Aliases, c.DNSNames, c.Links = nil, nil, nil
					ep = &c
				}
				ns.Networks[t.str(name)] = ep
			}
		}
		out.NetworkSettings = &ns
	}
	return &out, t.handles()
}

// bindSource returns src as a prefix of the bind ("src:dst:opts") it came
// from, if hc has one: the two then share their bytes.
func bindSource(src string, hc *container.HostConfig) string {
	if hc == nil || src == "" {
		return src
	}
	for _, b := range hc.Binds {
		if len(b) > len(src) && b[len(src)] == ':' && b[:len(src)] == src {
			return b[:len(src)]
		}
	}
	return src
}
