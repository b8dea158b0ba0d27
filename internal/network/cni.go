package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

const (
	defaultIfName = "eth0"
	// loopbackType is the plugin earlier versions (and cri-dockerd) ran
	// for lo: TearDown drops the record its ADD cached.
	loopbackType = "loopback"
)

// cniPlugin runs the CNI network found in the conf dir through libcni. The
// pause container is created with NetworkMode "none"; its netns is what CNI
// wires. libcni's result cache (in the cache dir) is the record of what was
// set up: IPs reads it, TearDown replays DEL from it.
//
// lo is brought up in-process (loUp), not by the loopback plugin: the
// plugin's ADD does only that, and its DEL only takes lo down in a netns
// that goes away with the pod. Each was a fork and exec of a Go binary
// per pod, a tenth of a CNI pod's start-up and teardown CPU.
type cniPlugin struct {
	cni      *libcni.CNIConfig
	exec     invoke.Exec
	binDirs  []string
	conf     *confSource
	loUp     func(netnsPath string) error
	cacheDir string
	netnsDir string
	ifName   string
	log      *slog.Logger
	metrics  CNIMetrics // nil: none
	ips      *ipsMemo   // shared by forPod's copies
}

func newCNI(cfg Config) (*cniPlugin, error) {
	binDirs := cfg.CNIBinDirs
	if len(binDirs) == 0 {
		binDirs = DefaultCNIBinDirs
	}
	confDir := cfg.CNIConfDir
	if confDir == "" {
		confDir = DefaultCNIConfDir
	}
	cacheDir := cfg.CNICacheDir
	if cacheDir == "" {
		cacheDir = DefaultCNICacheDir
	}
	netnsDir := cfg.CNINetNSDir
	if netnsDir == "" {
		netnsDir = DefaultCNINetNSDir
	}
	ifName := cfg.CNIIfName
	if ifName == "" {
		ifName = defaultIfName
	}
	log := cfg.Logger.With("plugin", PluginCNI)
	// The executor given here, not left nil: libcni fills a nil one in
	// lazily on first use, unsynchronised, and teardowns run in parallel.
	exec := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}
	return &cniPlugin{
		cni:      libcni.NewCNIConfigWithCacheDir(binDirs, cacheDir, exec),
		exec:     exec,
		binDirs:  binDirs,
		conf:     &confSource{dir: confDir, binDirs: binDirs, log: log},
		loUp:     loopbackUp,
		cacheDir: cacheDir,
		netnsDir: netnsDir,
		ifName:   ifName,
		log:      log,
		metrics:  cfg.CNIMetrics,
		ips:      &ipsMemo{},
	}, nil
}

func (p *cniPlugin) Name() string { return PluginCNI }

// forPod is the plugin as it reads and tears down pod: over the cache
// directory another runtime set the pod up with (Pod.CNICacheDir), where
// libcni cached that runtime's config, arguments and result.
func (p *cniPlugin) forPod(pod *Pod) *cniPlugin {
	if pod == nil || pod.CNICacheDir == "" || pod.CNICacheDir == p.cacheDir {
		return p
	}
	q := *p
	q.cacheDir = pod.CNICacheDir
	q.cni = libcni.NewCNIConfigWithCacheDir(p.binDirs, pod.CNICacheDir, p.exec)
	return &q
}

// Status re-reads the conf dir (cheaply) so the node turns ready as soon as
// a config appears.
func (p *cniPlugin) Status() error {
	_, err := p.conf.network()
	return err
}

func (p *cniPlugin) Prepare(_ context.Context, pod *Pod, spec *engine.CreateSpec) error {
	if pod == nil || spec == nil {
		return fmt.Errorf("prepare: nil pod or spec: %w", errdefs.ErrInvalidArgument)
	}
	ensureSpec(spec)
	if pod.HostNetwork {
		spec.HostConfig.NetworkMode = networkModeHost
		return nil
	}
	// Validate the port mappings now, before anything exists.
	if _, err := portMappingsArg(pod.PortMappings); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	spec.HostConfig.NetworkMode = networkModeNone
	spec.HostConfig.PortBindings = nil
	return nil
}

func (p *cniPlugin) SetUp(ctx context.Context, pod *Pod, netnsPath string) (_ *Result, retErr error) {
	if pod == nil || !isPlainID(pod.ID) {
		return nil, fmt.Errorf("set up: pod without a valid id: %w", errdefs.ErrInvalidArgument)
	}
	if pod.HostNetwork {
		return &Result{}, nil
	}
	if netnsPath == "" {
		return nil, fmt.Errorf("set up pod %s/%s: no network namespace: %w", pod.Namespace, pod.Name, errdefs.ErrInvalidArgument)
	}
	if host, err := isHostNetNS(netnsPath); err != nil {
		return nil, fmt.Errorf("set up pod %s/%s: %w", pod.Namespace, pod.Name, err)
	} else if host {
		return nil, fmt.Errorf("set up pod %s/%s: %s is the host's network namespace: %w",
			pod.Namespace, pod.Name, netnsPath, errdefs.ErrInvalidArgument)
	}
	list, err := p.conf.network()
	if err != nil {
		return nil, err
	}
	rt, err := p.runtimeConf(pod, netnsPath)
	if err != nil {
		return nil, err
	}
	p.pin(pod, netnsPath)
	defer func() {
		if retErr != nil {
			// Release what the failed ADD may have taken (an IP, a veth).
			if err := p.TearDown(context.WithoutCancel(ctx), pod, netnsPath); err != nil {
				p.log.Warn("rolling back failed cni set up", "pod", pod.ID, "err", err)
			}
		}
	}()
	// Before ADD: a crash inside it leaves libcni no record to DEL from.
	if err := p.writeIntent(list, rt); err != nil {
		return nil, err
	}
	if err := p.loUp(netnsPath); err != nil {
		return nil, fmt.Errorf("set up loopback for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	start := time.Now()
	res, err := p.cni.AddNetworkList(ctx, list, rt)
	p.observe(CNIAdd, start, err)
	if err != nil {
		return nil, fmt.Errorf("set up network %q for pod %s/%s: %w", list.Name, pod.Namespace, pod.Name, err)
	}
	// libcni's cache is the record from here on.
	if err := p.dropIntent(pod.ID); err != nil {
		p.log.Warn("dropping cni intent", "pod", pod.ID, "err", err)
	}
	ips, err := resultIPs(res)
	if err != nil {
		return nil, fmt.Errorf("network %q result for pod %s/%s: %w", list.Name, pod.Namespace, pod.Name, err)
	}
	p.log.Debug("pod network set up", "pod", pod.ID, "network", list.Name, "ips", ips)
	p.ips.put(ipsKey(p.cacheDir, pod.ID), ips)
	return &Result{IPs: ips}, nil
}

// IPs reads libcni's cached ADD result: no fork, no netns entry.
func (p *cniPlugin) IPs(_ context.Context, pod *Pod, _ *container.InspectResponse) ([]string, error) {
	if pod == nil || !isPlainID(pod.ID) {
		return nil, fmt.Errorf("pod IPs: pod without a valid id: %w", errdefs.ErrInvalidArgument)
	}
	if pod.HostNetwork {
		return nil, nil
	}
	p = p.forPod(pod)
	key := ipsKey(p.cacheDir, pod.ID)
	if ips, ok := p.ips.get(key); ok {
		return ips, nil
	}
	preferred := ""
	if list, _, err := p.conf.current(); err == nil {
		preferred = list.Name
	}
	att, err := p.findAttachment(pod.ID, preferred)
	if err != nil {
		return nil, err
	}
	if att == nil {
		return nil, nil
	}
	ips, err := att.ips()
	if err == nil {
		p.ips.put(key, ips)
	}
	return ips, err
}

// TearDown runs DEL for what SetUp added. It prefers the config cached at
// ADD time (the conf dir may have changed since) and falls back to the
// current config. A netnsPath that is gone (or "") is passed as "": plugins
// then release IPAM and host-side state, and the kernel removed the veth
// with the netns. lo needs nothing: it goes with the netns.
func (p *cniPlugin) TearDown(ctx context.Context, pod *Pod, netnsPath string) error {
	if pod == nil || !isPlainID(pod.ID) {
		return fmt.Errorf("tear down: pod without a valid id: %w", errdefs.ErrInvalidArgument)
	}
	if pod.HostNetwork {
		return nil
	}
	p = p.forPod(pod)
	p.ips.drop(ipsKey(p.cacheDir, pod.ID))
	pin := p.pinPath(pod.ID)
	if isPinnedNetNS(pin) {
		netnsPath = pin // the pod's own netns, whatever became of the container
	} else {
		netnsPath = p.usableNetNS(pod, netnsPath)
	}

	var errs []error
	var stale []string
	atts, bad, err := p.cachedAttachments(pod.ID)
	if err != nil {
		return fmt.Errorf("tear down pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	deleted := false
	for _, att := range atts {
		list, err := libcni.NetworkConfFromBytes(att.Config)
		if err != nil || len(list.Plugins) == 0 {
			// A record nobody can replay must not keep the pod
			// terminating forever: fall back to the current config.
			p.log.Warn("unusable cni cache entry", "path", att.path, "err", err)
			bad = append(bad, att.path)
			continue
		}
		if isLoopbackOnly(list) {
			// A loopback ADD (an earlier version's, or cri-dockerd's,
			// cached under the pod's interface name): nothing to undo
			// but its record.
			stale = append(stale, att.path)
			continue
		}
		if err := p.delCached(ctx, list, att, netnsPath); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = true
	}
	if !deleted && len(errs) == 0 {
		// No (usable) record: never set up, the ADD was cut short (a
		// crash before libcni cached its result), or the cache was lost.
		// DEL anyway so that IPAM, veths and per-IP rules are released.
		if err := p.delWithoutCache(ctx, pod, netnsPath); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		// Keep the pin (and the intent) while DEL fails: the retry needs
		// the netns and the config.
		if err := unpinNetNS(pin); err != nil {
			errs = append(errs, err)
		}
		if err := p.dropIntent(pod.ID); err != nil {
			errs = append(errs, err)
		}
		for _, path := range append(bad, stale...) {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove cni cache entry: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// isLoopbackOnly reports whether list is the loopback plugin alone.
func isLoopbackOnly(list *libcni.NetworkConfigList) bool {
	return len(list.Plugins) == 1 && list.Plugins[0].Network.Type == loopbackType
}

// delCached runs DEL with the config and arguments cached at ADD.
func (p *cniPlugin) delCached(ctx context.Context, list *libcni.NetworkConfigList, att *attachment, netnsPath string) error {
	rt := &libcni.RuntimeConf{
		ContainerID:    att.ContainerID,
		NetNS:          netnsPath,
		IfName:         att.IfName,
		Args:           att.CniArgs,
		CapabilityArgs: att.CapabilityArgs,
	}
	start := time.Now()
	err := p.cni.DelNetworkList(ctx, list, rt)
	p.observe(CNIDel, start, err)
	if err != nil {
		return fmt.Errorf("tear down network %q for %s: %w", list.Name, att.ContainerID, err)
	}
	return nil
}

func (p *cniPlugin) pinPath(podID string) string { return filepath.Join(p.netnsDir, podID) }

// pin keeps the pod netns alive until TearDown. Failing to pin (no
// CAP_SYS_ADMIN) costs only the cleanup that needs the netns after the
// container is gone, so it is a warning.
func (p *cniPlugin) pin(pod *Pod, netnsPath string) {
	target := p.pinPath(pod.ID)
	if err := unpinNetNS(target); err != nil { // a stale pin from an earlier attempt
		p.log.Warn("removing stale netns pin", "pod", pod.ID, "err", err)
	}
	if err := os.MkdirAll(p.netnsDir, 0o755); err != nil {
		p.log.Warn("cannot pin pod netns", "pod", pod.ID, "err", err)
		return
	}
	if err := pinNetNS(netnsPath, target); err != nil {
		p.log.Warn("cannot pin pod netns", "pod", pod.ID, "err", err)
	}
}

// usableNetNS returns netnsPath if it names a live network namespace that
// is not the host's, else "". A stale /proc/<pid>/ns/net whose pid was
// reused by a host process would otherwise let DEL remove the host's eth0.
func (p *cniPlugin) usableNetNS(pod *Pod, netnsPath string) string {
	if netnsPath == "" {
		return ""
	}
	host, err := isHostNetNS(netnsPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ""
	case err != nil:
		p.log.Warn("pod netns unusable, tearing down without it", "pod", pod.ID, "netns", netnsPath, "err", err)
		return ""
	case host:
		p.log.Warn("pod netns path is the host's netns (stale pid?), tearing down without it", "pod", pod.ID, "netns", netnsPath)
		return ""
	}
	return netnsPath
}

// isHostNetNS reports whether path is this process's network namespace.
func isHostNetNS(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("network namespace %s: %w", path, err)
	}
	self, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return false, fmt.Errorf("own network namespace: %w", err)
	}
	return os.SameFile(fi, self), nil
}
