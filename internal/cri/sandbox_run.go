package cri

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// RunPodSandbox creates and starts the pause container of a pod and sets up
// its network. Whatever it made is removed again if a later step fails.
func (s *Service) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (_ *runtimeapi.RunPodSandboxResponse, retErr error) {
	cfg := req.GetConfig()
	if err := s.checkRuntimeHandler(ctx, req.RuntimeHandler); err != nil {
		return nil, err
	}
	if err := s.ensureImage(ctx, s.cfg.PodInfraImage); err != nil {
		return nil, fmt.Errorf("sandbox image %s: %w", s.cfg.PodInfraImage, err)
	}
	if dir := cfg.LogDirectory; dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("pod log directory: %w", err)
		}
	}
	spec, err := s.sandboxSpec(cfg, req.RuntimeHandler)
	if err != nil {
		return nil, err
	}
	// The sandbox's parent is its containers' too (containerSpec copies it).
	if spec.HostConfig.CgroupParent, err = s.dockerCgroupParent(ctx, cfg.GetLinux().GetCgroupParent()); err != nil {
		return nil, err
	}
	pod := &PodNetwork{
		Name: cfg.Metadata.Name, Namespace: cfg.Metadata.Namespace, UID: cfg.Metadata.Uid,
		HostNetwork:  cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE,
		PortMappings: cfg.PortMappings, Annotations: cfg.Annotations, CgroupParent: cfg.GetLinux().GetCgroupParent(),
		DNS: cfg.DnsConfig,
	}
	// One attempt of one pod is made by one call at a time: Docker's unique
	// name is the attempt's identity, and a second call must find the
	// first's sandbox finished (AlreadyExists) or rolled back, never half
	// made (it would take a created-not-started one for a dead leftover).
	unlockPod, err := s.locks.lock(ctx, lockPod, spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlockPod()
	if err := s.cfg.Network.Prepare(ctx, pod, &spec); err != nil {
		return nil, fmt.Errorf("network %s: prepare sandbox: %w", s.cfg.Network.Name(), err)
	}

	id, err := s.createSandboxContainer(ctx, spec)
	if err != nil {
		return nil, err
	}
	pod.ID = id
	// The new id is visible to ListPodSandbox at once: a Stop or Remove of
	// it waits until it is finished or rolled back (the rollback below runs
	// under the lock: defers run last-in first-out).
	unlockSandbox := func() {}
	defer func() { unlockSandbox() }()
	log := s.log(ctx).With("sandbox", id)
	netnsPath := ""
	networkUp := false
	defer func() {
		if retErr == nil {
			return
		}
		// Roll back with a fresh context: the request's may be what ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if networkUp {
			if err := s.cfg.Network.TearDown(rctx, pod, netnsPath); err != nil {
				log.Warn("rollback: network teardown failed", "err", err)
			}
		}
		if err := s.ckpt.Delete(id); err != nil {
			log.Warn("rollback: checkpoint delete failed", "err", err)
		}
		if err := s.eng.RemoveContainer(rctx, id, engine.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			log.Warn("rollback: removing sandbox container failed", "err", err)
		}
	}()
	unlock, err := s.locks.lock(ctx, lockSandbox, id)
	if err != nil {
		return nil, err
	}
	unlockSandbox = unlock

	// The checkpoint exists before the network does, so that a crash in
	// between still lets RemovePodSandbox tear the network down.
	if err := s.ckpt.Save(&sandboxCheckpoint{ID: id, Pod: pod}); err != nil {
		return nil, err
	}
	if err := s.eng.StartContainer(ctx, id); err != nil {
		return nil, fmt.Errorf("start sandbox container: %w", err)
	}
	c, err := s.eng.InspectContainer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect sandbox container: %w", err)
	}
	if c.State == nil || !c.State.Running {
		return nil, fmt.Errorf("sandbox container exited right after start: %w", errdefs.ErrFailedPrecondition)
	}
	if !pod.HostNetwork {
		netnsPath = netnsPath0(c.State.Pid)
	}
	networkUp = true
	res, err := s.cfg.Network.SetUp(ctx, pod, netnsPath)
	if err != nil {
		return nil, fmt.Errorf("network %s: set up pod %s/%s: %w", s.cfg.Network.Name(), pod.Namespace, pod.Name, err)
	}
	var ips []string
	if res != nil {
		ips = res.IPs
	}
	if err := s.ckpt.Save(&sandboxCheckpoint{ID: id, Pod: pod, NetNS: netnsPath, IPs: ips, Complete: true}); err != nil {
		return nil, err
	}
	log.Info("sandbox running", "pod", pod.Namespace+"/"+pod.Name, "ips", ips)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

func netnsPath0(pid int) string {
	if pid == 0 {
		return ""
	}
	return netnsPath(pid)
}

// createSandboxContainer creates the pause container. Docker's unique names
// make a repeated request detectable: a dead leftover under the same name is
// removed and creation retried once; a live one is AlreadyExists.
func (s *Service) createSandboxContainer(ctx context.Context, spec engine.CreateSpec) (string, error) {
	s.markOwned(spec)
	for try := 0; ; try++ {
		id, err := s.eng.CreateContainer(ctx, spec)
		if err == nil {
			return id, nil
		}
		if !errdefs.IsConflict(err) || try > 0 {
			return "", fmt.Errorf("create sandbox container %s: %w", spec.Name, err)
		}
		old, lerr := s.findByName(ctx, spec.Name)
		if lerr != nil {
			return "", lerr
		}
		if old == nil || !s.mine(old.Labels, naming.TypeSandbox) {
			return "", fmt.Errorf("create sandbox container %s: the name is taken by a container dockerlet does not manage: %w", spec.Name, errdefs.ErrAlreadyExists)
		}
		if old.State == container.StateRunning {
			return "", fmt.Errorf("sandbox %s (%s) already exists and is running: %w", spec.Name, old.ID, errdefs.ErrAlreadyExists)
		}
		s.log(ctx).Info("removing dead sandbox container that holds the name", "name", spec.Name, "old", old.ID)
		if err := s.removeSandbox(ctx, old.ID); err != nil {
			return "", err
		}
	}
}

// findByName returns the container with exactly this name, or nil.
func (s *Service) findByName(ctx context.Context, name string) (*container.Summary, error) {
	list, err := s.eng.ListContainers(ctx, engine.ListOptions{All: true, Names: []string{"^/?" + regexp.QuoteMeta(name) + "$"}})
	if err != nil {
		return nil, fmt.Errorf("list containers named %s: %w", name, err)
	}
	for i := range list {
		for _, n := range list[i].Names {
			if n == "/"+name || n == name {
				return &list[i], nil
			}
		}
	}
	return nil, nil
}

// sandboxSpec translates a PodSandboxConfig into the pause container's spec.
func (s *Service) sandboxSpec(cfg *runtimeapi.PodSandboxConfig, handler string) (engine.CreateSpec, error) {
	md := cfg.Metadata
	sc := cfg.GetLinux().GetSecurityContext()
	ns := sc.GetNamespaceOptions()
	labels := map[string]string{
		naming.LabelManaged:      "true",
		naming.LabelType:         naming.TypeSandbox,
		naming.LabelPodName:      md.Name,
		naming.LabelPodNamespace: md.Namespace,
		naming.LabelPodUID:       md.Uid,
		naming.LabelAttempt:      strconv.FormatUint(uint64(md.Attempt), 10),
		naming.LabelCreated:      strconv.FormatInt(nowNano(), 10),
		naming.LabelImage:        s.cfg.PodInfraImage,
	}
	if cfg.LogDirectory != "" {
		labels[naming.LabelLogDir] = cfg.LogDirectory
	}
	if handler != "" {
		labels[naming.LabelRuntimeHandler] = handler
	}
	putNamespaceOptions(labels, ns)
	putUserLabels(labels, cfg.Labels, cfg.Annotations)

	hc := &container.HostConfig{
		IpcMode:     "shareable",
		OomScoreAdj: s.oomAdj.adjust(sandboxOOMScoreAdj),
		Sysctls:     cfg.GetLinux().GetSysctls(),
		Runtime:     runtimeFor(handler),
	}
	cc := &container.Config{Image: s.cfg.PodInfraImage, Labels: labels}
	if ns.GetNetwork() == runtimeapi.NamespaceMode_NODE {
		hc.UTSMode = "host"
	} else {
		cc.Hostname = cfg.Hostname
	}
	if ns.GetIpc() == runtimeapi.NamespaceMode_NODE {
		hc.IpcMode = "host"
	}
	if ns.GetPid() == runtimeapi.NamespaceMode_NODE {
		hc.PidMode = "host"
	}
	if err := applyDNS(hc, cfg.DnsConfig); err != nil {
		return engine.CreateSpec{}, err
	}
	if sc == nil {
		// No security context: unconfined seccomp, as for containers.
		hc.SecurityOpt, _ = seccompOpts(nil, "", false)
	}
	if sc != nil {
		hc.ReadonlyRootfs = sc.ReadonlyRootfs
		if sc.RunAsUser != nil {
			cc.User = userSpec(sc.RunAsUser, sc.RunAsGroup, "", "")
		}
		for _, g := range sc.SupplementalGroups {
			hc.GroupAdd = append(hc.GroupAdd, strconv.FormatInt(g, 10))
		}
		opts, err := seccompOpts(sc.Seccomp, sc.SeccompProfilePath, sc.Privileged)
		if err != nil {
			return engine.CreateSpec{}, err
		}
		hc.SecurityOpt = append(hc.SecurityOpt, opts...)
		aa, err := apparmorOpts(sc.Apparmor, "", sc.Privileged)
		if err != nil {
			return engine.CreateSpec{}, err
		}
		hc.SecurityOpt = append(hc.SecurityOpt, aa...)
		if sc.Privileged {
			s.caps.applyPrivileged(hc)
		}
	}
	return engine.CreateSpec{
		Name:       s.namer.BuildSandbox(md.Name, md.Namespace, md.Uid, md.Attempt),
		Config:     cc,
		HostConfig: hc,
	}, nil
}

// runtimeFor maps a CRI runtime handler to a Docker runtime name; "" and
// "runc" mean Docker's default.
// checkRuntimeHandler refuses a handler Docker has no runtime for, naming
// the ones it has (Status lists them too).
func (s *Service) checkRuntimeHandler(ctx context.Context, handler string) error {
	if handler == "" || handler == "runc" {
		return nil
	}
	f, err := s.daemonFacts(ctx)
	if err != nil {
		return err
	}
	if !f.features.knowsHandler(handler) {
		return notFoundf("runtime handler %q: Docker has no runtime of that name (configured: %s)",
			handler, strings.Join(f.features.handlerNames()[1:], ", "))
	}
	return nil
}

func runtimeFor(handler string) string {
	if handler == "runc" {
		return ""
	}
	return handler
}

// applyDNS hands the pod's DNS config to Docker, which writes the sandbox's
// resolv.conf; containers joining the sandbox's network share that file.
func applyDNS(hc *container.HostConfig, dns *runtimeapi.DNSConfig) error {
	if dns == nil {
		return nil
	}
	for _, srv := range dns.Servers {
		a, err := netip.ParseAddr(srv)
		if err != nil {
			return invalidf("dns server %q: %v", srv, err)
		}
		hc.DNS = append(hc.DNS, a)
	}
	hc.DNSSearch = dns.Searches
	hc.DNSOptions = dns.Options
	return nil
}
