package pod

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// ContainerInput is what translating one container needs beyond the pod.
type ContainerInput struct {
	Container *corev1.Container
	Attempt   uint32 // restart count
	Image     string // the image reference to create from (as pulled)
	PodIP     string
	Volumes   map[string]Volume
	Objects   Objects
	// SubPathsDir, when set, is where sub path mounts are pinned
	// (pinSubPath); the worker sets it when it may mount.
	SubPathsDir string
	// HostsPath, when set, is mounted over /etc/hosts (unless the
	// container mounts a volume there).
	HostsPath string
}

// ContainerConfig translates one container of p.
func ContainerConfig(p *corev1.Pod, in ContainerInput) (*runtimeapi.ContainerConfig, error) {
	c := in.Container
	env, err := envVars(p, c, in.Objects, in.PodIP)
	if err != nil {
		return nil, err
	}
	ms, err := mounts(c, in.Volumes, in.SubPathsDir)
	if err != nil {
		return nil, err
	}
	if in.HostsPath != "" && !slices.ContainsFunc(ms, func(m *runtimeapi.Mount) bool { return m.ContainerPath == "/etc/hosts" }) {
		ms = append(ms, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: in.HostsPath})
	}
	res, err := resources(c)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	sc, err := containerSecurityContext(p, c)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	image := in.Image
	if image == "" {
		image = c.Image
	}
	return &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: in.Attempt},
		Image:      &runtimeapi.ImageSpec{Image: image, UserSpecifiedImage: c.Image},
		Command:    expandAll(c.Command, env),
		Args:       expandAll(c.Args, env),
		WorkingDir: c.WorkingDir,
		Envs:       env,
		Mounts:     ms,
		Labels:     map[string]string{naming.KubeletLabelContainerName: c.Name, naming.KubeletLabelPodName: p.Name, naming.KubeletLabelPodNamespace: p.Namespace, naming.KubeletLabelPodUID: string(p.UID)},
		LogPath:    ContainerLogPath(c.Name, in.Attempt),
		Stdin:      c.Stdin,
		StdinOnce:  c.StdinOnce,
		Tty:        c.TTY,
		Linux:      &runtimeapi.LinuxContainerConfig{Resources: res, SecurityContext: sc},
	}, nil
}

// resources maps requests and limits as the kubelet does: cpu request →
// shares, cpu limit → CFS quota over a 100 ms period, memory limit → limit.
// A limit without a request implies the request (API server defaulting).
func resources(c *corev1.Container) (*runtimeapi.LinuxContainerResources, error) {
	for name := range c.Resources.Limits {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			return nil, fmt.Errorf("resources.limits.%s is not supported (cpu, memory)", name)
		}
	}
	r := &runtimeapi.LinuxContainerResources{}
	cpuReq, hasReq := c.Resources.Requests[corev1.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[corev1.ResourceCPU]
	if !hasReq && hasLim {
		cpuReq, hasReq = cpuLim, true
	}
	if hasReq {
		r.CpuShares = milliCPUToShares(cpuReq.MilliValue())
	}
	if hasLim {
		r.CpuPeriod = quotaPeriod
		r.CpuQuota = milliCPUToQuota(cpuLim.MilliValue())
	}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		if err := positive("memory", mem); err != nil {
			return nil, err
		}
		r.MemoryLimitInBytes = mem.Value()
	}
	return r, nil
}

func positive(name string, q resource.Quantity) error {
	if q.Sign() < 0 {
		return fmt.Errorf("resources.%s %s: negative", name, q.String())
	}
	return nil
}

const (
	quotaPeriod  = 100000 // 100 ms in µs
	minQuota     = 1000
	minShares    = 2
	sharesPerCPU = 1024
)

func milliCPUToShares(m int64) int64 {
	if m == 0 {
		return minShares
	}
	s := m * sharesPerCPU / 1000
	if s < minShares {
		return minShares
	}
	return s
}

func milliCPUToQuota(m int64) int64 {
	if m == 0 {
		return 0
	}
	q := m * quotaPeriod / 1000
	if q < minQuota {
		return minQuota
	}
	return q
}

// containerSecurityContext merges the pod's and the container's security
// contexts, the container's fields winning.
func containerSecurityContext(p *corev1.Pod, c *corev1.Container) (*runtimeapi.LinuxContainerSecurityContext, error) {
	out := &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: namespaceOptions(p)}
	var runAsUser, runAsGroup *int64
	var runAsNonRoot *bool
	if psc := p.Spec.SecurityContext; psc != nil {
		runAsUser, runAsGroup, runAsNonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		out.SupplementalGroups = withFSGroup(p, psc.SupplementalGroups)
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			runAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			runAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		if sc.Privileged != nil {
			out.Privileged = *sc.Privileged
		}
		if sc.ReadOnlyRootFilesystem != nil {
			out.ReadonlyRootfs = *sc.ReadOnlyRootFilesystem
		}
		if sc.AllowPrivilegeEscalation != nil {
			out.NoNewPrivs = !*sc.AllowPrivilegeEscalation
		}
		if caps := sc.Capabilities; caps != nil {
			out.Capabilities = &runtimeapi.Capability{}
			for _, a := range caps.Add {
				out.Capabilities.AddCapabilities = append(out.Capabilities.AddCapabilities, string(a))
			}
			for _, d := range caps.Drop {
				out.Capabilities.DropCapabilities = append(out.Capabilities.DropCapabilities, string(d))
			}
		}
	}
	if runAsNonRoot != nil && *runAsNonRoot && runAsUser != nil && *runAsUser == 0 {
		return nil, fmt.Errorf("runAsNonRoot is set but runAsUser is 0")
	}
	if runAsUser != nil {
		out.RunAsUser = &runtimeapi.Int64Value{Value: *runAsUser}
	}
	if runAsGroup != nil {
		out.RunAsGroup = &runtimeapi.Int64Value{Value: *runAsGroup}
	}
	return out, nil
}

// RunAsNonRoot reports whether c must not run as root (pod or container
// securityContext), to be checked against the image's user when no
// runAsUser is given.
func RunAsNonRoot(p *corev1.Pod, c *corev1.Container) bool {
	v := false
	if p.Spec.SecurityContext != nil && p.Spec.SecurityContext.RunAsNonRoot != nil {
		v = *p.Spec.SecurityContext.RunAsNonRoot
	}
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		v = *c.SecurityContext.RunAsNonRoot
	}
	return v
}
