package cri

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/containerd/errdefs"
)

// sandboxCheckpoint is what a sandbox needs beyond its Docker labels: the
// pod's network description and netns, so TearDown works after a restart or
// after the pause container is gone.
type sandboxCheckpoint struct {
	Version int         `json:"version"`
	ID      string      `json:"id"`
	Pod     *PodNetwork `json:"pod"`
	NetNS   string      `json:"netns,omitempty"`
	IPs     []string    `json:"ips,omitempty"`
	// Complete is set once RunPodSandbox has finished; a sandbox without it
	// after a restart is the leftover of a crash and is rolled back.
	Complete bool `json:"complete,omitempty"`
	// NetworkDown is set once StopPodSandbox released the network: the
	// kubelet's RemovePodSandbox (and a repeated stop) then runs no plugin
	// again — a second CNI DEL of every plugin, iptables included, was
	// half of a CNI teardown's cost.
	NetworkDown bool `json:"network_down,omitempty"`
}

// checkpointVersion 2 added Complete, 3 NetworkDown.
const checkpointVersion = 3

var checkpointIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkpointStore keeps one small JSON file per sandbox under
// <root>/sandboxes. Writes are atomic (temp file + rename).
type checkpointStore struct{ dir string }

func newCheckpointStore(root string) (*checkpointStore, error) {
	dir := filepath.Join(root, "sandboxes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint dir: %w", err)
	}
	return &checkpointStore{dir: dir}, nil
}

func (c *checkpointStore) path(id string) (string, error) {
	if !checkpointIDRE.MatchString(id) {
		return "", invalidf("checkpoint: bad sandbox id %q", id)
	}
	return filepath.Join(c.dir, id+".json"), nil
}

func (c *checkpointStore) Save(cp *sandboxCheckpoint) error {
	p, err := c.path(cp.ID)
	if err != nil {
		return err
	}
	cp.Version = checkpointVersion
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return c.writeErr(cp.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return c.writeErr(cp.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return c.writeErr(cp.ID, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return c.writeErr(cp.ID, err)
	}
	return nil
}

// writeErr says why a checkpoint could not be written or removed: a root
// directory that takes no writes (read-only, full, not ours) is the
// node's state, FailedPrecondition, not an internal error.
func (c *checkpointStore) writeErr(id string, err error) error {
	for _, e := range []error{syscall.EROFS, syscall.ENOSPC, syscall.EDQUOT, syscall.EACCES, syscall.EPERM} {
		if errors.Is(err, e) {
			return fmt.Errorf("checkpoint %s: the root directory %s takes no writes: %w: %w", id, filepath.Dir(c.dir), err, errdefs.ErrFailedPrecondition)
		}
	}
	return fmt.Errorf("checkpoint %s: %w", id, err)
}

// Load returns the checkpoint, or (nil, nil) when there is none.
func (c *checkpointStore) Load(id string) (*sandboxCheckpoint, error) {
	p, err := c.path(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", id, err)
	}
	var cp sandboxCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint %s is corrupt: %w", id, err)
	}
	return &cp, nil
}

func (c *checkpointStore) Delete(id string) error {
	p, err := c.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return c.writeErr(id, err)
	}
	return nil
}
