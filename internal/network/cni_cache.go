package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

// attachment is one entry of libcni's result cache
// (<cacheDir>/results/<network>-<containerID>-<ifname>): the config, the
// arguments and the result of an ADD. libcni writes it; the format is
// libcni's "cniCacheV1", which containerd and CRI-O read as well.
type attachment struct {
	Kind           string          `json:"kind"`
	ContainerID    string          `json:"containerId"`
	Config         []byte          `json:"config"`
	IfName         string          `json:"ifName"`
	NetworkName    string          `json:"networkName"`
	NetNS          string          `json:"netns,omitempty"`
	CniArgs        [][2]string     `json:"cniArgs,omitempty"`
	CapabilityArgs map[string]any  `json:"capabilityArgs,omitempty"`
	RawResult      json.RawMessage `json:"result,omitempty"`

	path string
}

func (p *cniPlugin) resultsDir() string { return filepath.Join(p.cacheDir, "results") }

// readAttachment reads one cache file; (nil, nil) if it does not exist.
func readAttachment(path string) (*attachment, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cni cache: %w", err)
	}
	var a attachment
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("cni cache %s: %w", path, err)
	}
	if a.Kind != libcni.CNICacheV1 {
		return nil, fmt.Errorf("cni cache %s: unknown kind %q", path, a.Kind)
	}
	a.path = path
	return &a, nil
}

// cachedAttachments returns every cached attachment of a container, and
// the paths of its cache files that could not be read (corrupt, foreign).
func (p *cniPlugin) cachedAttachments(containerID string) (atts []*attachment, bad []string, err error) {
	// Docker ids are hex; anything with glob or path characters is not ours.
	if !isPlainID(containerID) {
		return nil, nil, fmt.Errorf("cni cache: invalid container id %q", containerID)
	}
	paths, err := filepath.Glob(filepath.Join(p.resultsDir(), "*-"+containerID+"-*"))
	if err != nil {
		return nil, nil, fmt.Errorf("cni cache: %w", err)
	}
	slices.Sort(paths)
	for _, path := range paths {
		a, err := readAttachment(path)
		if err != nil {
			p.log.Warn("unreadable cni cache entry", "path", path, "err", err)
			bad = append(bad, path)
			continue
		}
		if a != nil && a.ContainerID == containerID {
			atts = append(atts, a)
		}
	}
	return atts, bad, nil
}

// findAttachment returns the pod interface's attachment: the one of the
// preferred (current) network by direct path, else any cached one.
func (p *cniPlugin) findAttachment(containerID, preferred string) (*attachment, error) {
	if preferred != "" && isPlainID(containerID) {
		a, err := readAttachment(filepath.Join(p.resultsDir(), preferred+"-"+containerID+"-"+p.ifName))
		if err != nil || a != nil {
			return a, err
		}
	}
	atts, _, err := p.cachedAttachments(containerID)
	for _, a := range atts {
		if a.IfName == p.ifName && !a.isLoopback() {
			return a, nil
		}
	}
	return nil, err
}

// isPlainID accepts ids that are safe as a file name and in a glob:
// Docker's hex ids and anything else made of [A-Za-z0-9_.-] not starting
// with a dot.
func isPlainID(id string) bool {
	if id == "" || id[0] == '.' {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// isLoopback reports whether a is the record of a loopback plugin's ADD.
func (a *attachment) isLoopback() bool {
	list, err := libcni.NetworkConfFromBytes(a.Config)
	return err == nil && isLoopbackOnly(list)
}

func (a *attachment) ips() ([]string, error) {
	if len(a.RawResult) == 0 {
		return nil, nil
	}
	res, err := create.CreateFromBytes(a.RawResult)
	if err != nil {
		return nil, fmt.Errorf("cni cache %s: %w", a.path, err)
	}
	return resultIPs(res)
}

// resultIPs lists the addresses of the pod's interfaces (those inside the
// sandbox), IPv4 first as the kubelet prefers for the primary IP.
func resultIPs(r cnitypes.Result) ([]string, error) {
	res, err := types100.NewResultFromResult(r)
	if err != nil {
		return nil, err
	}
	var v4, v6 []string
	for _, ipc := range res.IPs {
		if ipc == nil || ipc.Address.IP == nil {
			continue
		}
		if ipc.Interface != nil {
			i := *ipc.Interface
			if i < 0 || i >= len(res.Interfaces) || res.Interfaces[i].Sandbox == "" {
				continue // host-side interface, e.g. the bridge
			}
		}
		ip := ipc.Address.IP
		if ip4 := ip.To4(); ip4 != nil {
			v4 = appendUnique(v4, ip4.String())
		} else if ip.To16() != nil && !ip.Equal(net.IPv6zero) {
			v6 = appendUnique(v6, ip.String())
		}
	}
	return append(v4, v6...), nil
}
