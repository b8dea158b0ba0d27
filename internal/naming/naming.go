// Package naming builds and parses the names and labels that mark a Docker
// container as one of dockerlet's: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
// Docker's unique container names then enforce CRI idempotency for free.
package naming

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultPrefix is the kubelet's historical prefix.
const DefaultPrefix = "k8s"

// SandboxContainerName is the container-name field of a sandbox (pause) container.
const SandboxContainerName = "POD"

// ErrNotManaged is returned for names that dockerlet did not build.
var ErrNotManaged = errors.New("not a dockerlet-managed container name")

// Name is the parsed form of a managed container name.
type Name struct {
	Container string // "POD" for sandboxes
	Pod       string
	Namespace string
	UID       string
	Attempt   uint32
	// Hash is the seed's legacy "<container>.<hash>" suffix, 0 when absent.
	Hash uint64
}

// Namer builds and parses names under one prefix.
type Namer struct{ Prefix string }

// New returns a Namer; an empty prefix means DefaultPrefix.
func New(prefix string) Namer {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Namer{Prefix: prefix}
}

// Build returns the Docker name for n. Fields must not contain '_' (the
// separator); Kubernetes names and UIDs never do, and CRI validation rejects
// them before they get here.
func (nm Namer) Build(n Name) string {
	return strings.Join([]string{
		nm.prefix(), n.Container, n.Pod, n.Namespace, n.UID, strconv.FormatUint(uint64(n.Attempt), 10),
	}, "_")
}

// BuildSandbox is Build with the sandbox container name.
func (nm Namer) BuildSandbox(pod, namespace, uid string, attempt uint32) string {
	return nm.Build(Name{Container: SandboxContainerName, Pod: pod, Namespace: namespace, UID: uid, Attempt: attempt})
}

// Parse reverses Build. It strips Docker's leading '/', accepts the legacy
// "<container>.<hash>" field and extra trailing fields, and rejects a foreign
// prefix or too few fields.
func (nm Namer) Parse(name string) (Name, error) {
	name = strings.TrimPrefix(name, "/")
	// Cut the prefix as a whole so that a test prefix may itself contain '_'.
	rest, ok := strings.CutPrefix(name, nm.prefix()+"_")
	if !ok {
		return Name{}, fmt.Errorf("container name %q does not start with %q: %w", name, nm.prefix()+"_", ErrNotManaged)
	}
	parts := append([]string{nm.prefix()}, strings.Split(rest, "_")...)
	// prefix, container, pod, namespace, uid are required; attempt is
	// optional for the seed's 5-field legacy form.
	if len(parts) < 5 {
		return Name{}, fmt.Errorf("container name %q has %d fields, want at least 5: %w", name, len(parts), ErrNotManaged)
	}
	var n Name
	n.Container = parts[1]
	if c, h, ok := strings.Cut(parts[1], "."); ok {
		hash, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return Name{}, fmt.Errorf("container name %q: bad hash %q: %w", name, h, ErrNotManaged)
		}
		n.Container, n.Hash = c, hash
	}
	n.Pod, n.Namespace, n.UID = parts[2], parts[3], parts[4]
	if n.Container == "" || n.Pod == "" || n.Namespace == "" || n.UID == "" {
		return Name{}, fmt.Errorf("container name %q has an empty field: %w", name, ErrNotManaged)
	}
	if len(parts) >= 6 {
		a, err := strconv.ParseUint(parts[5], 10, 32)
		if err != nil {
			// The seed's fifth field was a random hex suffix, not an
			// attempt; keep the name usable with attempt 0.
			a = 0
		}
		n.Attempt = uint32(a)
	}
	return n, nil
}

// IsManagedName reports whether a Docker name (with or without '/') carries
// this prefix. It is a cheap pre-filter; the managed label is authoritative.
func (nm Namer) IsManagedName(name string) bool {
	return strings.HasPrefix(strings.TrimPrefix(name, "/"), nm.prefix()+"_")
}

func (nm Namer) prefix() string {
	if nm.Prefix == "" {
		return DefaultPrefix
	}
	return nm.Prefix
}
