package adopt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// checkpointDir is where cri-dockerd keeps one checkpoint per sandbox:
// <cri-dockerd-root-directory>/sandbox/<sandbox id>, a JSON file written
// atomically through a temp file whose name starts with a dot.
const checkpointDir = "sandbox"

// checkpointVersion is the schema cri-dockerd v0.3 and v0.4 write.
const checkpointVersion = "v1"

// DefaultRootDir is cri-dockerd's --cri-dockerd-root-directory default.
const DefaultRootDir = "/var/lib/cri-dockerd"

// DefaultCNICacheDir is cri-dockerd's --cni-cache-dir default (dockerlet's
// own is /var/lib/cni).
const DefaultCNICacheDir = "/var/lib/cni/cache"

var idRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// portMapping is one of a sandbox's port mappings as cri-dockerd stores
// it (its config.PortMapping).
type portMapping struct {
	Protocol      *string `json:"protocol,omitempty"`
	ContainerPort *int32  `json:"container_port,omitempty"`
	HostPort      *int32  `json:"host_port,omitempty"`
	HostIP        string  `json:"host_ip,omitempty"`
}

// checkpoint is cri-dockerd's PodSandboxCheckpoint. Its checksum (an FNV
// hash of a go-spew dump of Data) is not verified: the file must parse,
// have schema v1, and name the pod the sandbox container's name names.
type checkpoint struct {
	Version   string `json:"version"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Data      *struct {
		PortMappings []*portMapping `json:"port_mappings,omitempty"`
		HostNetwork  bool           `json:"host_network,omitempty"`
	} `json:"data,omitempty"`
}

// readCheckpoints returns cri-dockerd's sandbox checkpoints by sandbox id.
// A missing directory is no checkpoint; an unreadable file is skipped
// (its sandbox is then not adopted) and reported through skip.
func readCheckpoints(rootDir string, skip func(path string, err error)) (map[string]*checkpoint, error) {
	dir := filepath.Join(rootDir, checkpointDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cri-dockerd checkpoints: %w", err)
	}
	out := map[string]*checkpoint{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !idRE.MatchString(name) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		cp, err := readCheckpoint(path)
		if err != nil {
			skip(path, err)
			continue
		}
		out[name] = cp
	}
	return out, nil
}

func readCheckpoint(path string) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("not a cri-dockerd checkpoint: %w", err)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint schema %q, want %q", cp.Version, checkpointVersion)
	}
	if cp.Name == "" || cp.Namespace == "" {
		return nil, errors.New("checkpoint names no pod")
	}
	return &cp, nil
}

// HasCheckpoints reports whether cri-dockerd's root directory holds any
// sandbox checkpoint: what a node switched from cri-dockerd without
// --adopt-cri-dockerd is told about at start.
func HasCheckpoints(rootDir string) bool {
	entries, err := os.ReadDir(filepath.Join(rootDir, checkpointDir))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if idRE.MatchString(e.Name()) {
			return true
		}
	}
	return false
}
