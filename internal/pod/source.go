package pod

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// StdinPrefix marks the source of a manifest read from standard input:
// "stdin:<name>", the name given with --name or derived from the objects.
const StdinPrefix = "stdin:"

// NameStdin gives a manifest read from stdin its source name, so that two
// plays from stdin are two sources: name, or when empty one derived from
// the pods (the first pod's owner or name and a hash of every pod's
// namespace/name). The same objects played again are the same source.
func (m *Manifest) NameStdin(name string) error {
	if m.Source != "-" {
		return nil
	}
	if name == "" {
		name = DerivedName(m)
	} else if msg := validateDNSSubdomain(name); msg != "" {
		return fmt.Errorf("--name %q: %s", name, msg)
	}
	m.Source = StdinPrefix + name
	return nil
}

// DerivedName names a manifest after its pods: "<first>-<hash>".
func DerivedName(m *Manifest) string {
	var keys []string
	for _, p := range m.Pods {
		keys = append(keys, key(p.Namespace, p.Name))
	}
	for _, j := range m.Jobs {
		keys = append(keys, "job:"+key(j.Namespace, j.Name))
	}
	for _, d := range m.Deployments {
		keys = append(keys, "deployment:"+key(d.Namespace, d.Name))
	}
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	first := "empty"
	if len(m.Pods) > 0 {
		first = m.Pods[0].Name
		if owner, ok := m.Pods[0].Annotations[naming.PlayAnnotationOwner]; ok {
			_, first, _ = strings.Cut(owner, "/")
		}
	} else if len(m.Deployments) > 0 {
		first = m.Deployments[0].Name
	} else if len(m.Jobs) > 0 {
		first = m.Jobs[0].Name
	}
	if len(first) > 40 {
		first = strings.TrimRight(first[:40], "-.")
	}
	return first + "-" + hex.EncodeToString(sum[:3])
}
