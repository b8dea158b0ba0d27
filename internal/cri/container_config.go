package cri

import (
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// containerInput is what the translation of a ContainerConfig needs.
type containerInput struct {
	cfg     *runtimeapi.ContainerConfig
	sandbox *container.InspectResponse
	image   *image.InspectResponse
	logPath string // absolute, "" when the kubelet asked for none
	logDir  string // the pod's log directory, which logPath stays inside
	// pidTarget is the Docker id of the container whose PID namespace a
	// TARGET namespace option joins (already resolved).
	pidTarget string
	// env is what the translation needs to know of the engine.
	env engineEnv
}

// containerSpec translates a CRI container config into Docker's create
// spec. What Docker cannot carry is rejected with Unimplemented rather than
// silently dropped.
func (s *Service) containerSpec(in containerInput) (engine.CreateSpec, error) {
	cfg, sb := in.cfg, in.sandbox
	sbLabels := sb.Config.Labels
	md := cfg.Metadata
	labels := map[string]string{
		naming.LabelManaged:       "true",
		naming.LabelType:          naming.TypeContainer,
		naming.LabelSandboxID:     sb.ID,
		naming.LabelPodName:       sbLabels[naming.LabelPodName],
		naming.LabelPodNamespace:  sbLabels[naming.LabelPodNamespace],
		naming.LabelPodUID:        sbLabels[naming.LabelPodUID],
		naming.LabelContainerName: md.Name,
		naming.LabelAttempt:       strconv.FormatUint(uint64(md.Attempt), 10),
		naming.LabelCreated:       strconv.FormatInt(nowNano(), 10),
		naming.LabelImage:         cfg.Image.Image,
	}
	if u := cfg.Image.GetUserSpecifiedImage(); u != "" {
		labels[naming.LabelUserImage] = u
	}
	if in.logPath != "" {
		labels[naming.LabelLogPath] = in.logPath
		labels[naming.LabelLogDir] = in.logDir
	}
	putUserLabels(labels, cfg.Labels, cfg.Annotations)

	cc := &container.Config{
		Image:      in.image.ID,
		Entrypoint: cfg.Command,
		Cmd:        cfg.Args,
		WorkingDir: cfg.WorkingDir,
		Tty:        cfg.Tty,
		OpenStdin:  cfg.Stdin,
		StdinOnce:  cfg.StdinOnce,
		Labels:     labels,
	}
	if cfg.StopSignal != runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		cc.StopSignal = strings.TrimPrefix(cfg.StopSignal.String(), "SIGNAL_")
	}
	for _, kv := range cfg.Envs {
		cc.Env = append(cc.Env, kv.Key+"="+string(kv.Value))
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode("container:" + sb.ID),
		IpcMode:     container.IpcMode("container:" + sb.ID),
		Runtime:     sb.HostConfig.Runtime,
	}
	hc.CgroupParent = sb.HostConfig.CgroupParent
	if sb.HostConfig.IpcMode.IsHost() {
		hc.IpcMode = "host"
	}
	binds, mounts, err := mountsFor(cfg.Mounts, in.env)
	if err != nil {
		return engine.CreateSpec{}, err
	}
	hc.Binds, hc.Mounts = binds, mounts
	for _, d := range cfg.Devices {
		perms := d.Permissions
		if perms == "" {
			perms = "rwm"
		}
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: perms})
	}
	if hc.DeviceRequests, err = cdiRequests(cfg.CDIDevices, in.env.features); err != nil {
		return engine.CreateSpec{}, err
	}
	if err := s.applyResources(&hc.Resources, &hc.OomScoreAdj, cfg.GetLinux().GetResources()); err != nil {
		return engine.CreateSpec{}, err
	}
	if err := s.applySecurity(cc, hc, in, sb); err != nil {
		return engine.CreateSpec{}, err
	}
	name := s.namer.Build(naming.Name{
		Container: md.Name, Pod: sbLabels[naming.LabelPodName], Namespace: sbLabels[naming.LabelPodNamespace],
		UID: sbLabels[naming.LabelPodUID], Attempt: md.Attempt,
	})
	return engine.CreateSpec{Name: name, Config: cc, HostConfig: hc}, nil
}

// applySecurity translates the container's security context and namespaces.
func (s *Service) applySecurity(cc *container.Config, hc *container.HostConfig, in containerInput, sb *container.InspectResponse) error {
	sc := in.cfg.GetLinux().GetSecurityContext()
	// PID namespace: the pod's (POD), the container's own (CONTAINER), the
	// node's (NODE) or another container's (TARGET).
	switch sc.GetNamespaceOptions().GetPid() {
	case runtimeapi.NamespaceMode_POD:
		hc.PidMode = container.PidMode("container:" + sb.ID)
		if sb.HostConfig.PidMode.IsHost() {
			hc.PidMode = "host"
		}
	case runtimeapi.NamespaceMode_NODE:
		hc.PidMode = "host"
	case runtimeapi.NamespaceMode_TARGET:
		hc.PidMode = container.PidMode("container:" + in.pidTarget)
	}
	if sc == nil {
		// No security context: unconfined seccomp as in every CRI runtime.
		opts, _ := seccompOpts(nil, "", false)
		hc.SecurityOpt = opts
		return nil
	}
	if sc.GetNamespaceOptions().GetUsernsOptions() != nil && sc.GetNamespaceOptions().GetUsernsOptions().Mode != runtimeapi.NamespaceMode_NODE {
		return unimplementedf("user namespaces are not supported on Docker Engine")
	}
	if sc.SupplementalGroupsPolicy == runtimeapi.SupplementalGroupsPolicy_Strict {
		return unimplementedf("supplemental groups policy Strict is not supported on Docker Engine")
	}
	if len(sc.GetCapabilities().GetAddAmbientCapabilities()) > 0 {
		return unimplementedf("ambient capabilities are not supported on Docker Engine")
	}
	hc.ReadonlyRootfs = sc.ReadonlyRootfs
	if c := sc.Capabilities; c != nil && !sc.Privileged {
		hc.CapAdd = s.caps.expandAll(c.AddCapabilities)
		hc.CapDrop = c.DropCapabilities
	}
	imageUser := ""
	if in.image.Config != nil {
		imageUser = in.image.Config.User
	}
	cc.User = userSpec(sc.RunAsUser, sc.RunAsGroup, sc.RunAsUsername, imageUser)
	for _, g := range sc.SupplementalGroups {
		hc.GroupAdd = append(hc.GroupAdd, strconv.FormatInt(g, 10))
	}
	if sc.NoNewPrivs {
		hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
	}
	opts, err := seccompOpts(sc.Seccomp, sc.SeccompProfilePath, sc.Privileged)
	if err != nil {
		return err
	}
	hc.SecurityOpt = append(hc.SecurityOpt, opts...)
	aa, err := apparmorOpts(sc.Apparmor, sc.ApparmorProfile, sc.Privileged)
	if err != nil {
		return err
	}
	hc.SecurityOpt = append(hc.SecurityOpt, aa...)
	if sc.Privileged {
		s.caps.applyPrivileged(hc)
		return nil
	}
	// Empty lists keep Docker's defaults: the CRI cannot tell "none" from
	// "unset".
	if len(sc.MaskedPaths) > 0 {
		hc.MaskedPaths = sc.MaskedPaths
	}
	if len(sc.ReadonlyPaths) > 0 {
		hc.ReadonlyPaths = sc.ReadonlyPaths
	}
	return nil
}

// applyResources translates CRI resources into Docker's.
func (s *Service) applyResources(r *container.Resources, oom *int, res *runtimeapi.LinuxContainerResources) error {
	if res == nil {
		return nil
	}
	for _, h := range res.HugepageLimits {
		if h != nil && h.Limit > 0 {
			return unimplementedf("hugepage limits are not supported on Docker Engine")
		}
	}
	r.CPUShares = res.CpuShares
	r.CPUQuota = res.CpuQuota
	r.CPUPeriod = res.CpuPeriod
	r.CpusetCpus = res.CpusetCpus
	r.CpusetMems = res.CpusetMems
	r.Memory = res.MemoryLimitInBytes
	switch {
	case res.MemorySwapLimitInBytes > 0:
		r.MemorySwap = res.MemorySwapLimitInBytes
	case res.MemoryLimitInBytes > 0:
		r.MemorySwap = res.MemoryLimitInBytes // no swap beyond the limit
	}
	if oom != nil {
		*oom = s.oomAdj.adjust(int(res.OomScoreAdj))
	}
	return nil
}
