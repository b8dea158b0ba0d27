package keyring

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/moby/api/types/registry"
	"sigs.k8s.io/yaml"
)

// Kubernetes pull-secret types and their data keys.
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretKeyDockerConfigJSON  = ".dockerconfigjson"
	SecretTypeDockercfg        = "kubernetes.io/dockercfg"
	SecretKeyDockercfg         = ".dockercfg"
)

// secretObject is the part of a core/v1 Secret that matters here.
type secretObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Type       string            `json:"type"`
	Data       map[string][]byte `json:"data"` // base64 in the manifest
	StringData map[string]string `json:"stringData"`
}

// AddSecretFile adds a pull secret read from a file holding a Secret
// object, in JSON or YAML.
func (k *Keyring) AddSecretFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("pull secret: %w", err)
	}
	return k.AddSecret(path, data)
}

// AddSecret adds a pull secret given as a Secret manifest; source names it
// in errors and in Credential.Source.
func (k *Keyring) AddSecret(source string, manifest []byte) error {
	auths, err := ParseSecret(source, manifest)
	if err != nil {
		return err
	}
	k.addAuths(&k.secrets, source, auths)
	return nil
}

// ParseSecret decodes a kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg Secret (JSON or YAML) into registry key → auth.
// Errors name source and the problem.
func ParseSecret(source string, manifest []byte) (map[string]registry.AuthConfig, error) {
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return nil, fmt.Errorf("pull secret %s: not JSON or YAML: %w", source, err)
	}
	var s secretObject
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, fmt.Errorf("pull secret %s: not a Secret: %w", source, err)
	}
	if s.Kind != "Secret" {
		return nil, fmt.Errorf("pull secret %s: kind is %q, want \"Secret\"", source, s.Kind)
	}
	where := source
	if s.Metadata.Name != "" {
		where = fmt.Sprintf("%s (secret %s)", source, s.Metadata.Name)
	}
	var key string
	switch s.Type {
	case SecretTypeDockerConfigJSON:
		key = SecretKeyDockerConfigJSON
	case SecretTypeDockercfg:
		key = SecretKeyDockercfg
	default:
		return nil, fmt.Errorf("pull secret %s: type is %q, want %q or %q", where, s.Type, SecretTypeDockerConfigJSON, SecretTypeDockercfg)
	}
	payload, ok := s.Data[key]
	if str, inString := s.StringData[key]; inString {
		payload, ok = []byte(str), true // the API server lets stringData win
	}
	if !ok {
		return nil, fmt.Errorf("pull secret %s: type %s has no data key %q", where, s.Type, key)
	}
	src := where + " " + key
	if key == SecretKeyDockercfg {
		return parseDockercfg(src, payload)
	}
	cfg, err := parseConfigJSON(src, payload)
	if err != nil {
		return nil, err
	}
	return convertAuths(cfg.AuthConfigs), nil
}
