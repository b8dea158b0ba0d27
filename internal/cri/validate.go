package cri

import (
	"regexp"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// nameRE is what Docker accepts in a container name field; the fields are
// joined with '_' so they must not contain one either.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`)

func validateID(kind, id string) error {
	if id == "" {
		return invalidf("%s id is empty", kind)
	}
	return nil
}

func validateSandboxConfig(c *runtimeapi.PodSandboxConfig) error {
	if c == nil {
		return invalidf("pod sandbox config is nil")
	}
	m := c.GetMetadata()
	if m == nil {
		return invalidf("pod sandbox metadata is nil")
	}
	for _, f := range []struct{ name, v string }{{"name", m.Name}, {"namespace", m.Namespace}, {"uid", m.Uid}} {
		if f.v == "" {
			return invalidf("pod sandbox metadata: %s is empty", f.name)
		}
		if !nameRE.MatchString(f.v) {
			return invalidf("pod sandbox metadata: %s %q has characters a container name cannot carry", f.name, f.v)
		}
	}
	for _, pm := range c.PortMappings {
		if pm == nil {
			return invalidf("pod sandbox config: nil port mapping")
		}
		if pm.ContainerPort <= 0 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
			return invalidf("pod sandbox config: port mapping %d→%d out of range", pm.HostPort, pm.ContainerPort)
		}
	}
	return nil
}

func validateContainerConfig(c *runtimeapi.ContainerConfig) error {
	if c == nil {
		return invalidf("container config is nil")
	}
	m := c.GetMetadata()
	if m == nil {
		return invalidf("container metadata is nil")
	}
	if m.Name == "" {
		return invalidf("container metadata: name is empty")
	}
	if !nameRE.MatchString(m.Name) {
		return invalidf("container metadata: name %q has characters a container name cannot carry", m.Name)
	}
	if c.GetImage().GetImage() == "" {
		return invalidf("container config: image is empty")
	}
	for _, mnt := range c.Mounts {
		if mnt == nil {
			return invalidf("container config: nil mount")
		}
		if mnt.ContainerPath == "" {
			return invalidf("container config: mount of %q has no container path", mnt.HostPath)
		}
	}
	for _, d := range c.Devices {
		if d == nil || d.HostPath == "" {
			return invalidf("container config: device without host path")
		}
	}
	for _, kv := range c.Envs {
		if kv == nil || kv.Key == "" {
			return invalidf("container config: environment variable without a name")
		}
	}
	return nil
}
