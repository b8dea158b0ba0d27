package pod

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PullPolicy is c's imagePullPolicy, defaulted as the API server does:
// Always for ":latest" or an untagged image, IfNotPresent otherwise.
func PullPolicy(c *corev1.Container) corev1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	if tag := imageTag(c.Image); tag == "" || tag == "latest" {
		if !strings.Contains(c.Image, "@") {
			return corev1.PullAlways
		}
	}
	return corev1.PullIfNotPresent
}

// imageTag returns the tag of ref ("" when none).
func imageTag(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if i := strings.LastIndexByte(last, ':'); i >= 0 {
		return last[i+1:]
	}
	return ""
}

// Credentials finds registry credentials for an image: from the pod's pull
// secrets first, then the node's own Docker credentials. Each is tried in
// turn; none means an anonymous pull.
type Credentials interface {
	Lookup(image string, pullSecrets []*corev1.Secret) ([]*runtimeapi.AuthConfig, error)
}

// pullSecrets resolves p's imagePullSecrets; missing ones are skipped, as
// the kubelet does (with a warning from the caller).
func pullSecrets(p *corev1.Pod, objs Objects) (found []*corev1.Secret, missing []string) {
	for _, ref := range p.Spec.ImagePullSecrets {
		if s, ok := objs.Secret(p.Namespace, ref.Name); ok {
			found = append(found, s)
		} else {
			missing = append(missing, ref.Name)
		}
	}
	return found, missing
}

// SecretCredentials matches dockerconfigjson/dockercfg pull secrets by
// registry host only. It is the fallback when no keyring is wired.
type SecretCredentials struct{}

func (SecretCredentials) Lookup(image string, secrets []*corev1.Secret) ([]*runtimeapi.AuthConfig, error) {
	host := registryHost(image)
	var out []*runtimeapi.AuthConfig
	for _, s := range secrets {
		auths, err := secretAuths(s)
		if err != nil {
			return nil, err
		}
		for reg, a := range auths {
			if registryHost(strings.TrimSuffix(stripScheme(reg), "/")+"/x") != host {
				continue
			}
			ac := &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: reg, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
			if a.Auth != "" && a.Username == "" {
				if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					if u, p, ok := strings.Cut(string(dec), ":"); ok {
						ac.Username, ac.Password = u, p
					}
				}
			}
			out = append(out, ac)
		}
	}
	return out, nil
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

func secretAuths(s *corev1.Secret) (map[string]dockerAuth, error) {
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, corev1.DockerConfigJsonKey, err)
		}
		return cfg.Auths, nil
	case corev1.SecretTypeDockercfg:
		var cfg map[string]dockerAuth
		if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &cfg); err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, corev1.DockerConfigKey, err)
		}
		return cfg, nil
	}
	return nil, nil
}

func stripScheme(s string) string {
	for _, p := range []string{"https://", "http://"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// registryHost is the registry part of an image reference, Docker Hub for
// none.
func registryHost(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io"
	}
	if first == "index.docker.io" || first == "registry-1.docker.io" {
		return "docker.io"
	}
	return first
}
