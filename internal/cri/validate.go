package cri

import (
	"net/netip"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// nameRE is what Docker accepts in a container name field; the fields are
// joined with '_' so they must not contain one either.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`)

// validateRequest is the check every request passes at the gate (see
// gate.admit), from a socket or in process: the generic rules of
// checkGeneric, then each RPC's own. Bad input is InvalidArgument here,
// before it reaches a handler or the engine; handlers trust what passed.
func validateRequest(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	if err := checkGeneric(m.ProtoReflect(), ""); err != nil {
		return err
	}
	switch r := req.(type) {
	case *runtimeapi.RunPodSandboxRequest:
		if err := validateSandboxConfig(r.Config); err != nil {
			return err
		}
		return validateRuntimeHandler(r.RuntimeHandler)
	case *runtimeapi.StopPodSandboxRequest:
		return validateID("pod sandbox", r.PodSandboxId)
	case *runtimeapi.RemovePodSandboxRequest:
		return validateID("pod sandbox", r.PodSandboxId)
	case *runtimeapi.PodSandboxStatusRequest:
		return validateID("pod sandbox", r.PodSandboxId)
	case *runtimeapi.PodSandboxStatsRequest:
		return validateID("pod sandbox", r.PodSandboxId)
	case *runtimeapi.ListPodSandboxRequest:
		return validateSandboxFilter(r.Filter.GetId(), r.Filter.GetLabelSelector())
	case *runtimeapi.StreamPodSandboxesRequest:
		return validateSandboxFilter(r.Filter.GetId(), r.Filter.GetLabelSelector())
	case *runtimeapi.ListPodSandboxStatsRequest:
		return validateSandboxFilter(r.Filter.GetId(), r.Filter.GetLabelSelector())
	case *runtimeapi.StreamPodSandboxStatsRequest:
		return validateSandboxFilter(r.Filter.GetId(), r.Filter.GetLabelSelector())
	case *runtimeapi.CreateContainerRequest:
		if err := validateID("pod sandbox", r.PodSandboxId); err != nil {
			return err
		}
		return validateContainerConfig(r.Config)
	case *runtimeapi.StartContainerRequest:
		return validateID("container", r.ContainerId)
	case *runtimeapi.StopContainerRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		return validateInt64Range("stop timeout", r.Timeout, 0, maxTimeout)
	case *runtimeapi.RemoveContainerRequest:
		return validateID("container", r.ContainerId)
	case *runtimeapi.ContainerStatusRequest:
		return validateID("container", r.ContainerId)
	case *runtimeapi.ContainerStatsRequest:
		return validateID("container", r.ContainerId)
	case *runtimeapi.ReopenContainerLogRequest:
		return validateID("container", r.ContainerId)
	case *runtimeapi.ListContainersRequest:
		return validateContainerFilter(r.Filter.GetId(), r.Filter.GetPodSandboxId(), r.Filter.GetLabelSelector())
	case *runtimeapi.StreamContainersRequest:
		return validateContainerFilter(r.Filter.GetId(), r.Filter.GetPodSandboxId(), r.Filter.GetLabelSelector())
	case *runtimeapi.ListContainerStatsRequest:
		return validateContainerFilter(r.Filter.GetId(), r.Filter.GetPodSandboxId(), r.Filter.GetLabelSelector())
	case *runtimeapi.StreamContainerStatsRequest:
		return validateContainerFilter(r.Filter.GetId(), r.Filter.GetPodSandboxId(), r.Filter.GetLabelSelector())
	case *runtimeapi.UpdateContainerResourcesRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		if r.Linux == nil && r.Windows == nil {
			return invalidf("update container resources: linux resources are nil")
		}
		return validateResources(r.Linux)
	case *runtimeapi.ExecSyncRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		if err := validateCmd(r.Cmd); err != nil {
			return err
		}
		return validateInt64Range("exec timeout", r.Timeout, 0, maxTimeout)
	case *runtimeapi.ExecRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		if err := validateCmd(r.Cmd); err != nil {
			return err
		}
		return validateAttached("exec", r.Stdin, r.Stdout, r.Stderr)
	case *runtimeapi.AttachRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		return validateAttached("attach", r.Stdin, r.Stdout, r.Stderr)
	case *runtimeapi.PortForwardRequest:
		if err := validateID("pod sandbox", r.PodSandboxId); err != nil {
			return err
		}
		if len(r.Port) > 64 {
			return invalidf("port forward: %d ports (at most 64)", len(r.Port))
		}
		for _, p := range r.Port {
			if p <= 0 || p > 65535 {
				return invalidf("port forward: port %d out of range", p)
			}
		}
	case *runtimeapi.UpdateRuntimeConfigRequest:
		return validatePodCIDR(r.GetRuntimeConfig().GetNetworkConfig().GetPodCidr())
	case *runtimeapi.CheckpointContainerRequest:
		if err := validateID("container", r.ContainerId); err != nil {
			return err
		}
		return validateInt64Range("checkpoint timeout", r.Timeout, 0, maxTimeout)
	case *runtimeapi.CheckpointPodRequest:
		return validateID("pod sandbox", r.PodSandboxId)
	case *runtimeapi.UpdatePodSandboxResourcesRequest:
		if err := validateID("pod sandbox", r.PodSandboxId); err != nil {
			return err
		}
		if err := validateResources(r.Overhead); err != nil {
			return err
		}
		return validateResources(r.Resources)
	case *runtimeapi.PullImageRequest:
		if err := validateImageSpec("pull image", r.Image, true); err != nil {
			return err
		}
		if c := r.SandboxConfig; c != nil {
			if err := validateLabels("pod sandbox labels", c.Labels); err != nil {
				return err
			}
			return validateAnnotations("pod sandbox annotations", c.Annotations)
		}
	case *runtimeapi.ImageStatusRequest:
		return validateImageSpec("image status", r.Image, true)
	case *runtimeapi.RemoveImageRequest:
		return validateImageSpec("remove image", r.Image, true)
	case *runtimeapi.ListImagesRequest:
		return validateImageSpec("image filter", r.GetFilter().GetImage(), false)
	case *runtimeapi.StreamImagesRequest:
		return validateImageSpec("image filter", r.GetFilter().GetImage(), false)
	}
	return nil
}

func validateID(kind, id string) error {
	if id == "" {
		return invalidf("%s id is empty", kind)
	}
	if len(id) > maxIDLen {
		return invalidf("%s id of %d characters (at most %d)", kind, len(id), maxIDLen)
	}
	return nil
}

// validateOptionalID is validateID for filters, where "" means any.
func validateOptionalID(kind, id string) error {
	if id == "" {
		return nil
	}
	return validateID(kind, id)
}

func validateSandboxFilter(id string, sel map[string]string) error {
	if err := validateOptionalID("pod sandbox", id); err != nil {
		return err
	}
	return validateLabels("label selector", sel)
}

func validateContainerFilter(id, sandboxID string, sel map[string]string) error {
	if err := validateOptionalID("container", id); err != nil {
		return err
	}
	if err := validateOptionalID("pod sandbox", sandboxID); err != nil {
		return err
	}
	return validateLabels("label selector", sel)
}

func validateRuntimeHandler(h string) error {
	if h == "" {
		return nil
	}
	if len(h) > maxDNSLabel || !nameRE.MatchString(h) {
		return invalidf("runtime handler %.80q: want at most %d alphanumerics, '.' or '-'", h, maxDNSLabel)
	}
	return nil
}

func validateImageSpec(where string, spec *runtimeapi.ImageSpec, required bool) error {
	img := spec.GetImage()
	if img == "" {
		if required {
			return invalidf("%s: image is empty", where)
		}
		return nil
	}
	if len(img) > maxImageRef {
		return invalidf("%s: image reference of %d bytes (at most %d)", where, len(img), maxImageRef)
	}
	return validateAnnotations(where+": image annotations", spec.GetAnnotations())
}

// validateAttached: a session with no stream attached would do nothing.
func validateAttached(what string, stdin, stdout, stderr bool) error {
	if !stdin && !stdout && !stderr {
		return invalidf("%s: one of stdin, stdout or stderr must be attached", what)
	}
	return nil
}

func validateCmd(cmd []string) error {
	if len(cmd) == 0 {
		return invalidf("exec: command is empty")
	}
	return nil
}

// validatePodCIDR accepts "" or a comma-separated list of CIDRs (dual
// stack).
func validatePodCIDR(s string) error {
	if s == "" {
		return nil
	}
	for _, c := range strings.Split(s, ",") {
		if _, err := netip.ParsePrefix(strings.TrimSpace(c)); err != nil {
			return invalidf("pod CIDR %.80q: %v", c, err)
		}
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
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", m.Name, maxDNSSubdomain}, {"namespace", m.Namespace, maxDNSLabel}, {"uid", m.Uid, maxDNSSubdomain}} {
		if f.v == "" {
			return invalidf("pod sandbox metadata: %s is empty", f.name)
		}
		if len(f.v) > f.max {
			return invalidf("pod sandbox metadata: %s of %d characters (at most %d)", f.name, len(f.v), f.max)
		}
		if !nameRE.MatchString(f.v) {
			return invalidf("pod sandbox metadata: %s %q has characters a container name cannot carry", f.name, f.v)
		}
	}
	if len(c.Hostname) > maxHostname {
		return invalidf("pod sandbox hostname of %d characters (at most %d)", len(c.Hostname), maxHostname)
	}
	if strings.ContainsAny(c.Hostname, "/ \t\n") {
		return invalidf("pod sandbox hostname %q", c.Hostname)
	}
	if err := validateAbsPath("pod log directory", c.LogDirectory, true); err != nil {
		return err
	}
	if err := validateLabels("pod sandbox labels", c.Labels); err != nil {
		return err
	}
	if err := validateAnnotations("pod sandbox annotations", c.Annotations); err != nil {
		return err
	}
	if len(c.PortMappings) > maxMounts {
		return invalidf("pod sandbox config: %d port mappings (at most %d)", len(c.PortMappings), maxMounts)
	}
	for _, pm := range c.PortMappings {
		if pm == nil {
			return invalidf("pod sandbox config: nil port mapping")
		}
		if pm.ContainerPort <= 0 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
			return invalidf("pod sandbox config: port mapping %d→%d out of range", pm.HostPort, pm.ContainerPort)
		}
		if pm.HostIp != "" {
			if _, err := netip.ParseAddr(pm.HostIp); err != nil {
				return invalidf("pod sandbox config: port mapping host IP %.80q: %v", pm.HostIp, err)
			}
		}
	}
	if dns := c.DnsConfig; dns != nil {
		if len(dns.Servers) > 32 || len(dns.Searches) > 32 || len(dns.Options) > 32 {
			return invalidf("pod sandbox DNS config: too many servers, searches or options (at most 32 each)")
		}
		for _, s := range dns.Servers {
			if _, err := netip.ParseAddr(s); err != nil {
				return invalidf("pod sandbox DNS server %.80q: %v", s, err)
			}
		}
		for _, s := range dns.Searches {
			if len(s) > maxDNSSubdomain || strings.ContainsAny(s, " \t\n") {
				return invalidf("pod sandbox DNS search %.80q", s)
			}
		}
	}
	if l := c.Linux; l != nil {
		if err := validateCgroupParent(l.CgroupParent); err != nil {
			return err
		}
		hostNet := l.GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
		if err := validateSysctls(l.Sysctls, hostNet); err != nil {
			return err
		}
		if sc := l.SecurityContext; sc != nil {
			if err := validateIDs(sc.RunAsUser, sc.RunAsGroup, sc.SupplementalGroups); err != nil {
				return err
			}
		}
		if err := validateResources(l.Overhead); err != nil {
			return err
		}
		if err := validateResources(l.Resources); err != nil {
			return err
		}
	}
	return nil
}
