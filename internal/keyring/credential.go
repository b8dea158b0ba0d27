// Package keyring finds registry credentials for an image the way the
// kubelet did: from Kubernetes pull secrets first, then from the node's own
// Docker configuration (config.json, the legacy .dockercfg, credential
// helpers), matched by registry host, port and path.
package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/moby/moby/api/types/registry"
)

// Credential is one candidate credential for a pull. Its String and
// LogValue never reveal the secret parts, so it is safe to log.
type Credential struct {
	// Source says where the credential was found: a file path, or
	// "credential helper <name>". Never the secret itself.
	Source string
	// Registry is the configured registry key that matched the image.
	Registry string
	Auth     registry.AuthConfig
}

// Identity is a stable, non-reversible identity of the secret material,
// for de-duplication (two files holding the same login are one candidate).
func (c Credential) Identity() string {
	h := sha256.New()
	for _, s := range []string{c.Auth.Username, c.Auth.Password, c.Auth.Auth, c.Auth.IdentityToken, c.Auth.RegistryToken} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// String describes the credential without its secret.
func (c Credential) String() string {
	user := c.Auth.Username
	if user == "" && c.Auth.IdentityToken != "" {
		user = "<identity token>"
	}
	return fmt.Sprintf("%s for %s from %s", user, c.Registry, c.Source)
}

// LogValue keeps slog from ever printing the secret parts.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", c.Source),
		slog.String("registry", c.Registry),
		slog.String("username", c.Auth.Username),
	)
}

// GoString keeps %#v from printing the secret parts too.
func (c Credential) GoString() string { return "keyring.Credential{" + c.String() + "}" }

func (c Credential) empty() bool {
	a := c.Auth
	return a.Username == "" && a.Password == "" && a.Auth == "" && a.IdentityToken == "" && a.RegistryToken == ""
}
