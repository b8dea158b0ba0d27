package cri

import (
	"path/filepath"
	"regexp"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

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
	// Kubernetes container names are DNS labels (63), but critest's run to
	// ~90 characters: the subdomain bound keeps Docker names sane.
	if len(m.Name) > maxDNSSubdomain {
		return invalidf("container metadata: name of %d characters (at most %d)", len(m.Name), maxDNSSubdomain)
	}
	if !nameRE.MatchString(m.Name) {
		return invalidf("container metadata: name %q has characters a container name cannot carry", m.Name)
	}
	if err := validateImageSpec("container config", c.Image, true); err != nil {
		return err
	}
	if err := validateLabels("container labels", c.Labels); err != nil {
		return err
	}
	if err := validateAnnotations("container annotations", c.Annotations); err != nil {
		return err
	}
	if err := validateAbsPath("container working dir", c.WorkingDir, true); err != nil {
		return err
	}
	// The log path is relative to the pod's log directory and must stay
	// inside it: the log copier writes there as root.
	if c.LogPath != "" && !filepath.IsLocal(c.LogPath) {
		return invalidf("container log path %.80q must be relative and stay inside the pod's log directory", c.LogPath)
	}
	if len(c.Mounts) > maxMounts || len(c.Devices) > maxMounts {
		return invalidf("container config: %d mounts and %d devices (at most %d each)", len(c.Mounts), len(c.Devices), maxMounts)
	}
	for _, mnt := range c.Mounts {
		if mnt == nil {
			return invalidf("container config: nil mount")
		}
		if mnt.ContainerPath == "" {
			return invalidf("container config: mount of %q has no container path", mnt.HostPath)
		}
		if err := validateAbsPath("mount container path", mnt.ContainerPath, false); err != nil {
			return err
		}
		if err := validateMount(mnt); err != nil {
			return err
		}
	}
	if len(c.CDIDevices) > maxMounts {
		return invalidf("container config: %d CDI devices (at most %d)", len(c.CDIDevices), maxMounts)
	}
	for _, d := range c.CDIDevices {
		if err := validateCDIDevice(d); err != nil {
			return err
		}
	}
	for _, d := range c.Devices {
		if d == nil || d.HostPath == "" {
			return invalidf("container config: device without host path")
		}
		if err := validateAbsPath("device host path", d.HostPath, false); err != nil {
			return err
		}
		if err := validateAbsPath("device container path", d.ContainerPath, true); err != nil {
			return err
		}
		if strings.Trim(d.Permissions, "rwm") != "" {
			return invalidf("device %q permissions %q: want a subset of rwm", d.HostPath, d.Permissions)
		}
	}
	for _, kv := range c.Envs {
		if kv == nil || kv.Key == "" {
			return invalidf("container config: environment variable without a name")
		}
		if strings.Contains(kv.Key, "=") {
			return invalidf("container config: environment variable name %.80q contains '='", kv.Key)
		}
		if len(kv.Key)+len(kv.Value) > maxArg {
			return invalidf("container config: environment variable %.80q of %d bytes (at most %d)", kv.Key, len(kv.Key)+len(kv.Value), maxArg)
		}
	}
	for _, list := range [][]string{c.Command, c.Args} {
		for _, a := range list {
			if len(a) > maxArg {
				return invalidf("container config: command argument of %d bytes (at most %d)", len(a), maxArg)
			}
		}
	}
	if l := c.Linux; l != nil {
		if err := validateResources(l.Resources); err != nil {
			return err
		}
		if sc := l.SecurityContext; sc != nil {
			if err := validateContainerSecurity(sc); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateMount checks what the CRI asks of a mount, whatever the engine
// can carry.
func validateMount(mnt *runtimeapi.Mount) error {
	if img := mnt.GetImage(); img.GetImage() != "" {
		// An image volume is the image's filesystem, never writable.
		if !mnt.Readonly {
			return invalidf("image volume %.80q at %q: image volumes are read-only (set readonly)", img.GetImage(), mnt.ContainerPath)
		}
		if mnt.ImageSubPath != "" && !filepath.IsLocal(mnt.ImageSubPath) {
			return invalidf("image volume %.80q: sub path %.80q must be relative and stay inside the image", img.GetImage(), mnt.ImageSubPath)
		}
		if len(img.GetImage()) > maxImageRef {
			return invalidf("image volume: image reference of %d bytes (at most %d)", len(img.GetImage()), maxImageRef)
		}
		return nil
	}
	if mnt.ImageSubPath != "" {
		return invalidf("mount of %q: image_sub_path without an image", mnt.HostPath)
	}
	// A relative host path would make Docker create a named volume.
	if err := validateAbsPath("mount host path", mnt.HostPath, false); err != nil {
		return err
	}
	if mnt.RecursiveReadOnly {
		if !mnt.Readonly {
			return invalidf("mount %q: recursive_read_only needs readonly", mnt.ContainerPath)
		}
		if mnt.Propagation != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
			return invalidf("mount %q: recursive_read_only needs private propagation, not %s", mnt.ContainerPath, mnt.Propagation)
		}
	}
	return nil
}

// validateCDIDevice checks a fully qualified CDI device name,
// "vendor.com/class=name".
func validateCDIDevice(d *runtimeapi.CDIDevice) error {
	if d == nil {
		return invalidf("container config: nil CDI device")
	}
	kind, name, ok := strings.Cut(d.Name, "=")
	vendor, class, ok2 := strings.Cut(kind, "/")
	if !ok || !ok2 || vendor == "" || class == "" || name == "" || len(d.Name) > maxPath ||
		strings.ContainsAny(d.Name, " \t\n\x00") {
		return invalidf("CDI device %.80q: want a fully qualified name like vendor.com/class=name", d.Name)
	}
	return nil
}

func validateContainerSecurity(sc *runtimeapi.LinuxContainerSecurityContext) error {
	if err := validateIDs(sc.RunAsUser, sc.RunAsGroup, sc.SupplementalGroups); err != nil {
		return err
	}
	if strings.ContainsAny(sc.RunAsUsername, ":/ \t\n") || len(sc.RunAsUsername) > 256 {
		return invalidf("run_as_username %.80q", sc.RunAsUsername)
	}
	if sc.RunAsGroup != nil && sc.RunAsUser == nil && sc.RunAsUsername == "" {
		return invalidf("run_as_group is set without run_as_user or run_as_username")
	}
	if ns := sc.NamespaceOptions; ns.GetPid() == runtimeapi.NamespaceMode_TARGET {
		if err := validateID("pid namespace target container", ns.TargetId); err != nil {
			return err
		}
	}
	for name, paths := range map[string][]string{"masked paths": sc.MaskedPaths, "readonly paths": sc.ReadonlyPaths} {
		if len(paths) > maxPathList {
			return invalidf("%s: %d entries (at most %d)", name, len(paths), maxPathList)
		}
		for _, p := range paths {
			if err := validateAbsPath(name+" entry", p, false); err != nil {
				return err
			}
		}
	}
	if c := sc.Capabilities; c != nil {
		for _, list := range [][]string{c.AddCapabilities, c.DropCapabilities, c.AddAmbientCapabilities} {
			if len(list) > 128 {
				return invalidf("capabilities: %d entries (at most 128)", len(list))
			}
			for _, cp := range list {
				if cp == "" || len(cp) > 64 || strings.Trim(strings.ToUpper(cp), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != "" {
					return invalidf("capability %.80q", cp)
				}
			}
		}
	}
	if p := sc.Seccomp; p != nil && p.ProfileType == runtimeapi.SecurityProfile_Localhost {
		if err := validateAbsPath("localhost seccomp profile", p.LocalhostRef, false); err != nil {
			return err
		}
	}
	if len(sc.SeccompProfilePath) > maxPath || len(sc.ApparmorProfile) > maxPath {
		return invalidf("security profile name too long")
	}
	if ns := sc.NamespaceOptions; ns != nil && ns.TargetId != "" {
		return validateID("namespace target container", ns.TargetId)
	}
	return nil
}

// validateIDs bounds user and group ids: negative ids and (uid_t)-1 are
// not ids.
func validateIDs(uid, gid *runtimeapi.Int64Value, groups []int64) error {
	if uid != nil {
		if err := validateInt64Range("run_as_user", uid.Value, 0, maxUID); err != nil {
			return err
		}
	}
	if gid != nil {
		if err := validateInt64Range("run_as_group", gid.Value, 0, maxUID); err != nil {
			return err
		}
	}
	if len(groups) > 256 {
		return invalidf("supplemental groups: %d entries (at most 256)", len(groups))
	}
	for _, g := range groups {
		if err := validateInt64Range("supplemental group", g, 0, maxUID); err != nil {
			return err
		}
	}
	return nil
}

// sysctlRE is a sysctl name, dotted or slashed (net.ipv4.ip_forward,
// net/ipv4/conf/eth0/forwarding).
var sysctlRE = regexp.MustCompile(`^[a-zA-Z0-9_]+([./][a-zA-Z0-9_-]+)*$`)

// validateSysctls bounds the pod's sysctls: runc writes each under
// /proc/sys, and a 64 KiB name left runc create hung for good (found by
// test/crifuzz), holding the container's lock in Docker.
// Only sysctls in a namespace the pod owns can be set (runc refuses the
// others at start, which Docker reports as an unclassified error): IPC
// (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*), UTS and, unless the
// pod is on the host's network, net.*.
func validateSysctls(m map[string]string, hostNetwork bool) error {
	if len(m) > 128 {
		return invalidf("sysctls: %d entries (at most 128)", len(m))
	}
	for k, v := range m {
		if len(k) > 256 || !sysctlRE.MatchString(k) {
			return invalidf("sysctl name %.80q: want at most 256 characters like net.core.somaxconn", k)
		}
		name := strings.ReplaceAll(k, "/", ".")
		namespaced := strings.HasPrefix(name, "kernel.shm") || strings.HasPrefix(name, "kernel.msg") ||
			name == "kernel.sem" || strings.HasPrefix(name, "fs.mqueue.") ||
			name == "kernel.hostname" || name == "kernel.domainname" ||
			(strings.HasPrefix(name, "net.") && !hostNetwork)
		if !namespaced {
			return invalidf("sysctl %.80q is not in a namespace of the pod (IPC, UTS, or the pod's network)", k)
		}
		if len(v) > 4096 || strings.ContainsAny(v, "\n\x00") {
			return invalidf("sysctl %s: value of %d bytes, or with a newline (at most 4096)", k, len(v))
		}
	}
	return nil
}

func validateCgroupParent(p string) error {
	return validateNoDotDot("cgroup parent", p)
}

// validateResources bounds CPU and memory settings; nil is "unchanged".
func validateResources(r *runtimeapi.LinuxContainerResources) error {
	if r == nil {
		return nil
	}
	checks := []struct {
		name      string
		v, lo, hi int64
	}{
		{"cpu_shares", r.CpuShares, 0, maxCPUShares},
		{"cpu_quota", r.CpuQuota, -1, 1 << 40},
		{"cpu_period", r.CpuPeriod, 0, 1_000_000},
		{"memory_limit_in_bytes", r.MemoryLimitInBytes, 0, 1 << 62},
		{"memory_swap_limit_in_bytes", r.MemorySwapLimitInBytes, -1, 1 << 62},
		{"oom_score_adj", r.OomScoreAdj, -maxOOMScoreAdj, maxOOMScoreAdj},
	}
	for _, c := range checks {
		if err := validateInt64Range(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	for _, s := range []struct{ name, v string }{{"cpuset_cpus", r.CpusetCpus}, {"cpuset_mems", r.CpusetMems}} {
		if len(s.v) > 1024 || strings.Trim(s.v, "0123456789,-") != "" {
			return invalidf("%s %.80q: want a list like 0-3,5", s.name, s.v)
		}
	}
	if len(r.Unified) > 64 {
		return invalidf("unified: %d entries (at most 64)", len(r.Unified))
	}
	return nil
}
