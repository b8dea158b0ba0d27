package pod

import (
	"encoding/json"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/keyring"
)

// KeyringCredentials finds credentials with the kubelet's registry
// matching (internal/keyring): the pod's pull secrets first, then the
// node's Docker configuration.
type KeyringCredentials struct {
	Node   *keyring.Keyring // the node's credentials; may be nil
	Logger *slog.Logger
}

func (k KeyringCredentials) Lookup(image string, secrets []*corev1.Secret) ([]*runtimeapi.AuthConfig, error) {
	var out []*runtimeapi.AuthConfig
	seen := map[string]bool{}
	add := func(creds []keyring.Credential) {
		for _, c := range creds {
			if id := c.Identity(); !seen[id] {
				seen[id] = true
				a := c.Auth
				out = append(out, &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth,
					ServerAddress: a.ServerAddress, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken})
			}
		}
	}
	if len(secrets) > 0 {
		kr := keyring.New(k.Logger)
		for _, s := range secrets {
			if s.Type != corev1.SecretTypeDockerConfigJson && s.Type != corev1.SecretTypeDockercfg {
				continue
			}
			manifest, err := json.Marshal(struct {
				Kind string `json:"kind"`
				*corev1.Secret
			}{"Secret", s})
			if err != nil {
				return nil, err
			}
			if err := kr.AddSecret("secret "+s.Name, manifest); err != nil {
				return nil, err
			}
		}
		creds, err := kr.Lookup(image)
		if err != nil {
			return nil, err
		}
		add(creds)
	}
	if k.Node != nil {
		creds, err := k.Node.Lookup(image)
		if err != nil {
			return nil, err
		}
		add(creds)
	}
	return out, nil
}
