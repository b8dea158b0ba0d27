package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// An ADD intent is dockerlet's own record, written before it runs a pod's
// CNI ADD and dropped once libcni has cached the result (or DEL ran):
// libcni writes its cache only after the whole plugin list succeeded, so a
// crash (kill -9) inside ADD left no record of which config ran. The
// intent has the cache entry's format, without a result.
//
// Without a result DEL has no prevResult, and plugins that undo per pod IP
// (the firewall plugin's CNI-FORWARD rules) remove nothing. DEL without a
// cached result therefore rebuilds prevResult from the pod's netns (kept
// alive by its pin): the addresses the IPAM put on the pod's interface.

func (p *cniPlugin) intentsDir() string { return filepath.Join(p.cacheDir, "dockerlet-intents") }

func (p *cniPlugin) intentPath(podID string) string {
	return filepath.Join(p.intentsDir(), podID+".json")
}

// writeIntent records the ADD of list with rt about to run.
func (p *cniPlugin) writeIntent(list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	a := attachment{
		Kind: libcni.CNICacheV1, ContainerID: rt.ContainerID, Config: list.Bytes, IfName: rt.IfName,
		NetworkName: list.Name, NetNS: rt.NetNS, CniArgs: rt.Args, CapabilityArgs: rt.CapabilityArgs,
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("cni intent: %w", err)
	}
	if err := os.MkdirAll(p.intentsDir(), 0o700); err != nil {
		return fmt.Errorf("cni intent: %w", err)
	}
	tmp, err := os.CreateTemp(p.intentsDir(), ".tmp-*")
	if err != nil {
		return fmt.Errorf("cni intent: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cni intent: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.intentPath(rt.ContainerID)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cni intent: %w", err)
	}
	return nil
}

// readIntent returns the pod's ADD intent, or nil.
func (p *cniPlugin) readIntent(podID string) *attachment {
	a, err := readAttachment(p.intentPath(podID))
	if err != nil {
		p.log.Warn("unreadable cni intent", "pod", podID, "err", err)
		return nil
	}
	if a != nil && (a.ContainerID != podID || len(a.Config) == 0) {
		return nil
	}
	return a
}

func (p *cniPlugin) dropIntent(podID string) error {
	if err := os.Remove(p.intentPath(podID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cni intent: %w", err)
	}
	return nil
}

// delWithoutCache runs DEL for a pod libcni has no record of: with the
// config of its ADD intent if there is one (the conf dir may have changed
// since), else the current one; prevResult rebuilt from the netns.
func (p *cniPlugin) delWithoutCache(ctx context.Context, pod *Pod, netnsPath string) error {
	var list *libcni.NetworkConfigList
	var rt *libcni.RuntimeConf
	if in := p.readIntent(pod.ID); in != nil {
		l, err := libcni.NetworkConfFromBytes(in.Config)
		if err == nil && len(l.Plugins) > 0 {
			list = l
			rt = &libcni.RuntimeConf{ContainerID: pod.ID, NetNS: netnsPath, IfName: in.IfName, Args: in.CniArgs, CapabilityArgs: in.CapabilityArgs}
		} else {
			p.log.Warn("unusable cni intent; tearing down with the current config", "pod", pod.ID, "err", err)
		}
	}
	if list == nil {
		l, err := p.conf.network()
		if err != nil {
			p.log.Warn("no cni record and no config; nothing to tear down", "pod", pod.ID, "err", err)
			return nil
		}
		list = l
		r, err := p.runtimeConf(pod, netnsPath)
		if err != nil {
			// Bad port mappings in a stored pod must not block teardown.
			r, _ = p.runtimeConf(&Pod{ID: pod.ID, Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID}, netnsPath)
		}
		rt = r
	}
	if rt.IfName == "" {
		rt.IfName = p.ifName
	}
	list = p.withPrevResult(list, netnsPath, rt.IfName)
	start := time.Now()
	err := p.cni.DelNetworkList(ctx, list, rt)
	p.observe(CNIDel, start, err)
	if err != nil {
		return fmt.Errorf("tear down network %q for pod %s/%s: %w", list.Name, pod.Namespace, pod.Name, err)
	}
	return nil
}

// withPrevResult returns list with every plugin given, as prevResult, the
// addresses on ifName in the netns: what the lost ADD result would have
// said. libcni keeps a prevResult already in a plugin's config when it has
// no cached one to inject. Without a netns or addresses, list as it is.
func (p *cniPlugin) withPrevResult(list *libcni.NetworkConfigList, netnsPath, ifName string) *libcni.NetworkConfigList {
	if netnsPath == "" {
		return list
	}
	if ok, err := version.GreaterThanOrEqualTo(list.CNIVersion, "0.4.0"); err != nil || !ok {
		return list // no prevResult on DEL before CNI 0.4.0
	}
	addrs, err := addrsInNetNS(netnsPath, ifName)
	if err != nil {
		p.log.Warn("reading pod addresses for cni teardown", "netns", netnsPath, "err", err)
		return list
	}
	if len(addrs) == 0 {
		return list
	}
	res, err := prevResultFor(list.CNIVersion, netnsPath, ifName, addrs)
	if err != nil {
		p.log.Warn("building cni prevResult for teardown", "err", err)
		return list
	}
	p.log.Info("cni teardown without a cached result: prevResult rebuilt from the pod netns", "netns", netnsPath, "addrs", fmt.Sprint(addrs))
	out := *list
	out.Plugins = make([]*libcni.PluginConfig, len(list.Plugins))
	for i, pc := range list.Plugins {
		injected, err := libcni.InjectConf(pc, map[string]any{"prevResult": res})
		if err != nil {
			p.log.Warn("injecting cni prevResult for teardown", "err", err)
			return list
		}
		out.Plugins[i] = injected
	}
	return &out
}

// prevResultFor builds a result of cniVersion naming addrs on the pod's
// interface ifName in netnsPath.
func prevResultFor(cniVersion, netnsPath, ifName string, addrs []*net.IPNet) (any, error) {
	zero := 0
	r := &types100.Result{
		CNIVersion: types100.ImplementedSpecVersion,
		Interfaces: []*types100.Interface{{Name: ifName, Sandbox: netnsPath}},
	}
	for _, a := range addrs {
		r.IPs = append(r.IPs, &types100.IPConfig{Interface: &zero, Address: *a})
	}
	return r.GetAsVersion(cniVersion)
}
