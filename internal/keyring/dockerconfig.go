package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	clitypes "github.com/docker/cli/cli/config/types"
	"github.com/moby/moby/api/types/registry"
)

// AddDockerConfigDir adds the node's Docker configuration from dir:
// config.json (auths, credsStore, credHelpers) and the legacy .dockercfg.
// Missing files are fine; a malformed one is an error naming it.
func (k *Keyring) AddDockerConfigDir(dir string) error {
	if err := k.AddDockerConfigFile(filepath.Join(dir, config.ConfigFileName)); err != nil {
		return err
	}
	return k.AddLegacyDockercfg(filepath.Join(dir, ".dockercfg"))
}

// AddDefaultDockerConfig adds what the Docker CLI itself would read:
// $DOCKER_CONFIG/config.json (default ~/.docker) and ~/.dockercfg.
func (k *Keyring) AddDefaultDockerConfig() error {
	if err := k.AddDockerConfigFile(filepath.Join(config.Dir(), config.ConfigFileName)); err != nil {
		return err
	}
	if home, err := os.UserHomeDir(); err == nil {
		return k.AddLegacyDockercfg(filepath.Join(home, ".dockercfg"))
	}
	return nil
}

// AddDockerConfigFile adds one config.json. A missing file is fine.
func (k *Keyring) AddDockerConfigFile(path string) error {
	data, err := readOptional(path)
	if err != nil || data == nil {
		return err
	}
	cfg, err := parseConfigJSON(path, data)
	if err != nil {
		return err
	}
	k.addAuths(&k.node, path, convertAuths(cfg.AuthConfigs))
	if cfg.CredentialsStore != "" || len(cfg.CredentialHelpers) > 0 {
		k.helpers = append(k.helpers, helperSource{source: path, cfg: cfg})
	}
	return nil
}

// AddLegacyDockercfg adds a legacy .dockercfg ({"registry": {"auth": …}}).
// A missing file is fine.
func (k *Keyring) AddLegacyDockercfg(path string) error {
	data, err := readOptional(path)
	if err != nil || data == nil {
		return err
	}
	auths, err := parseDockercfg(path, data)
	if err != nil {
		return err
	}
	k.addAuths(&k.node, path, auths)
	return nil
}

func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker config %s: %w", path, err)
	}
	return data, nil
}

// parseConfigJSON decodes a config.json (or a secret's .dockerconfigjson)
// with the Docker CLI's own decoder, which also splits "auth" into user
// and password. The whole input must be one JSON object.
func parseConfigJSON(source string, data []byte) (*configfile.ConfigFile, error) {
	if err := checkObject(data); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	cfg := configfile.New(source)
	if err := cfg.LoadFromReader(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%s: invalid docker config: %w", source, err)
	}
	return cfg, nil
}

// parseDockercfg decodes the legacy format: the auths map on its own.
func parseDockercfg(source string, data []byte) (map[string]registry.AuthConfig, error) {
	if err := checkObject(data); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	cfg := configfile.New(source)
	wrapped := append(append([]byte(`{"auths":`), data...), '}')
	if err := cfg.LoadFromReader(bytes.NewReader(wrapped)); err != nil {
		return nil, fmt.Errorf("%s: invalid legacy dockercfg: %w", source, err)
	}
	return convertAuths(cfg.AuthConfigs), nil
}

// checkObject insists on exactly one JSON object: the Docker CLI's decoder
// would accept an empty file or trailing garbage without a word.
func checkObject(data []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return errors.New("not a JSON object: null")
	}
	return nil
}

func convertAuths(in map[string]clitypes.AuthConfig) map[string]registry.AuthConfig {
	out := make(map[string]registry.AuthConfig, len(in))
	for key, a := range in {
		out[key] = convertAuth(a)
	}
	return out
}

func convertAuth(a clitypes.AuthConfig) registry.AuthConfig {
	return registry.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		ServerAddress: a.ServerAddress,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	}
}

// helperSource asks a config.json's credsStore or credHelpers, through the
// Docker CLI's credential-helper client, at lookup time.
type helperSource struct {
	source string
	cfg    *configfile.ConfigFile
}

// get runs the helper configured for registry (a host[:port] as in image
// references) if there is one. Failures are logged (never with secrets)
// and skipped: a broken helper must not block pulls that other
// credentials or an anonymous pull can serve.
func (h helperSource) get(registryHost string, log *slog.Logger) (Credential, bool) {
	key := registryHost
	if dockerHubHosts[registryHost] {
		key = "https://index.docker.io/v1/"
	}
	helper, ok := h.cfg.CredentialHelpers[key]
	if !ok {
		helper = h.cfg.CredentialsStore
	}
	if helper == "" {
		return Credential{}, false
	}
	a, err := h.cfg.GetAuthConfig(registryHost)
	if err != nil {
		log.Warn("credential helper failed", "helper", helper, "registry", registryHost, "config", h.source, "error", err)
		return Credential{}, false
	}
	c := Credential{Source: "credential helper " + helper + " (" + h.source + ")", Registry: registryHost, Auth: convertAuth(a)}
	if c.empty() {
		return Credential{}, false
	}
	return c, true
}
