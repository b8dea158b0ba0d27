package cri

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestHostileRequestsAreInvalidArgument(t *testing.T) {
	h := newHarness(t)
	rt, img := h.grpcClients()
	ctx := h.ctx
	long := strings.Repeat("a", 64<<10)
	longID := strings.Repeat("a", 65)
	badLabel := map[string]string{"bad key!": "v"}
	hugeAnn := map[string]string{"big": strings.Repeat("x", 300<<10)}
	streamErr := func(recv func() error) error { return recv() }

	cases := map[string]func() error{
		// Sandboxes.
		"RunPodSandbox nil config": func() error { _, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{}); return err },
		"RunPodSandbox nil metadata": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Metadata = nil }))
			return err
		},
		"RunPodSandbox name too long": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = strings.Repeat("n", 254) }))
			return err
		},
		"RunPodSandbox namespace too long": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Namespace = strings.Repeat("n", 64) }))
			return err
		},
		"RunPodSandbox bad UTF-8 name": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Metadata.Name = badUTF8 }), corrupt)
			return err
		},
		"RunPodSandbox bad label key": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Labels = badLabel }))
			return err
		},
		"RunPodSandbox label value too long": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Labels = map[string]string{"k": strings.Repeat("v", 254)} }))
			return err
		},
		"RunPodSandbox annotations over 256 KiB": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Annotations = hugeAnn }))
			return err
		},
		"RunPodSandbox hostname too long": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Hostname = strings.Repeat("h", 65) }))
			return err
		},
		"RunPodSandbox relative log directory": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "../../etc" }))
			return err
		},
		"RunPodSandbox log directory over PATH_MAX": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.LogDirectory = "/" + long }))
			return err
		},
		"RunPodSandbox cgroup parent escapes": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Linux.CgroupParent = "/kubepods/../../x" }))
			return err
		},
		"RunPodSandbox negative uid": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) {
				c.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: -5}}
			}))
			return err
		},
		"RunPodSandbox undefined protocol": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) {
				c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, Protocol: 42}}
			}))
			return err
		},
		"RunPodSandbox bad host IP": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) {
				c.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostIp: "not-an-ip"}}
			}))
			return err
		},
		"RunPodSandbox 64 KiB sysctl name": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{long: "1"} }))
			return err
		},
		"RunPodSandbox host sysctl": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) { c.Linux.Sysctls = map[string]string{"vm.swappiness": "1"} }))
			return err
		},
		"RunPodSandbox net sysctl on the host network": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) {
				c.Linux.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
				c.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}
			}))
			return err
		},
		"RunPodSandbox sysctl with a newline": func() error {
			_, err := rt.RunPodSandbox(ctx, withSandbox(func(c *runtimeapi.PodSandboxConfig) {
				c.Linux.Sysctls = map[string]string{"net.core.somaxconn": "1\nkernel.x=1"}
			}))
			return err
		},
		"CreateContainer 1 MiB environment value": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Envs = []*runtimeapi.KeyValue{{Key: "BIG", Value: make([]byte, 1<<20)}}
			}))
			return err
		},
		"CreateContainer 256 KiB argument": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Args = []string{strings.Repeat("a", 256<<10)} }))
			return err
		},
		"RunPodSandbox bad runtime handler": func() error {
			_, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("v"), RuntimeHandler: "../runc"})
			return err
		},
		"StopPodSandbox empty id": func() error { _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{}); return err },
		"StopPodSandbox long id": func() error {
			_, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: longID})
			return err
		},
		"RemovePodSandbox empty id": func() error { _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{}); return err },
		"RemovePodSandbox NUL id": func() error {
			_, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "ab\x00cd"})
			return err
		},
		"PodSandboxStatus long id": func() error {
			_, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: long})
			return err
		},
		"PodSandboxStats empty id": func() error { _, err := rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{}); return err },
		"PortForward bad port": func() error {
			_, err := rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "abc", Port: []int32{-1}})
			return err
		},
		"PortForward empty id": func() error {
			_, err := rt.PortForward(ctx, &runtimeapi.PortForwardRequest{Port: []int32{80}})
			return err
		},
		"CheckpointPod empty id": func() error { _, err := rt.CheckpointPod(ctx, &runtimeapi.CheckpointPodRequest{}); return err },
		"UpdatePodSandboxResources": func() error {
			_, err := rt.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{})
			return err
		},
		"ListPodSandbox long id": func() error {
			_, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: longID}})
			return err
		},
		"ListPodSandbox bad state": func() error {
			_, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: 9}}})
			return err
		},
		"ListPodSandboxStats bad selector": func() error {
			_, err := rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: badLabel}})
			return err
		},
		"StreamPodSandboxes bad UTF-8": func() error {
			s, err := rt.StreamPodSandboxes(ctx, &runtimeapi.StreamPodSandboxesRequest{Filter: &runtimeapi.PodSandboxFilter{Id: badUTF8}}, corrupt)
			if err != nil {
				return err
			}
			return streamErr(func() error { _, err := s.Recv(); return err })
		},
		"StreamPodSandboxStats long id": func() error {
			s, err := rt.StreamPodSandboxStats(ctx, &runtimeapi.StreamPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{Id: longID}})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},

		// Containers.
		"CreateContainer nil config": func() error {
			_, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "abc"})
			return err
		},
		"CreateContainer empty sandbox id": func() error {
			_, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{Config: containerConfig("v")})
			return err
		},
		"CreateContainer nil image": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Image = nil }))
			return err
		},
		"CreateContainer name too long": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = strings.Repeat("c", 254) }))
			return err
		},
		"CreateContainer log path escapes": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.LogPath = "../../../etc/cron.d/x" }))
			return err
		},
		"CreateContainer nil mount": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{nil} }))
			return err
		},
		"CreateContainer relative host path": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Mounts = []*runtimeapi.Mount{{HostPath: "volume-name", ContainerPath: "/data"}}
			}))
			return err
		},
		"CreateContainer mount over PATH_MAX": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Mounts = []*runtimeapi.Mount{{HostPath: "/" + long, ContainerPath: "/data"}}
			}))
			return err
		},
		"CreateContainer thousands of mounts": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				for i := 0; i < 2000; i++ {
					c.Mounts = append(c.Mounts, &runtimeapi.Mount{HostPath: "/tmp", ContainerPath: "/m"})
				}
			}))
			return err
		},
		"CreateContainer undefined propagation": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Mounts = []*runtimeapi.Mount{{HostPath: "/tmp", ContainerPath: "/m", Propagation: 77}}
			}))
			return err
		},
		"CreateContainer env with '='": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Envs = []*runtimeapi.KeyValue{{Key: "A=B", Value: []byte("c")}} }))
			return err
		},
		"CreateContainer bad device permissions": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Devices = []*runtimeapi.Device{{HostPath: "/dev/null", ContainerPath: "/dev/n", Permissions: "rwx"}}
			}))
			return err
		},
		"CreateContainer 64 KiB masked path": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.MaskedPaths = []string{"/" + long} }))
			return err
		},
		"CreateContainer thousands of masked paths": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) {
				sc.MaskedPaths = manyStrings(3000, func(int) string { return "/proc/kcore" })
			}))
			return err
		},
		"CreateContainer thousands of readonly paths": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) {
				sc.ReadonlyPaths = manyStrings(3000, func(int) string { return "/proc/sys" })
			}))
			return err
		},
		"CreateContainer relative masked path": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.MaskedPaths = []string{"proc"} }))
			return err
		},
		"CreateContainer username with colon": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) { sc.RunAsUsername = "nobody:0" }))
			return err
		},
		"CreateContainer bad capability": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) {
				sc.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"NET ADMIN;rm"}}
			}))
			return err
		},
		"CreateContainer relative seccomp profile": func() error {
			_, err := rt.CreateContainer(ctx, withSecurity(func(sc *runtimeapi.LinuxContainerSecurityContext) {
				sc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "profile.json"}
			}))
			return err
		},
		"CreateContainer oom_score_adj out of range": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{OomScoreAdj: 5000}}
			}))
			return err
		},
		"CreateContainer negative memory": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) {
				c.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -7}}
			}))
			return err
		},
		"CreateContainer bad UTF-8 command": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.Command = []string{badUTF8} }), corrupt)
			return err
		},
		"CreateContainer undefined stop signal": func() error {
			_, err := rt.CreateContainer(ctx, withContainer(func(c *runtimeapi.ContainerConfig) { c.StopSignal = 999 }))
			return err
		},
		"StartContainer empty id": func() error { _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{}); return err },
		"StopContainer negative": func() error {
			_, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "abc", Timeout: -1})
			return err
		},
		"StopContainer absurd": func() error {
			_, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "abc", Timeout: 1 << 62})
			return err
		},
		"RemoveContainer long id": func() error {
			_, err := rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: longID})
			return err
		},
		"ContainerStatus empty id": func() error { _, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{}); return err },
		"ContainerStats long id": func() error {
			_, err := rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: long})
			return err
		},
		"ReopenContainerLog empty": func() error {
			_, err := rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{})
			return err
		},
		"UpdateContainerResources nil linux": func() error {
			_, err := rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: "abc"})
			return err
		},
		"UpdateContainerResources negative shares": func() error {
			_, err := rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: "abc", Linux: &runtimeapi.LinuxContainerResources{CpuShares: -2}})
			return err
		},
		"UpdateContainerResources bad cpuset": func() error {
			_, err := rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: "abc", Linux: &runtimeapi.LinuxContainerResources{CpusetCpus: "all of them"}})
			return err
		},
		"ExecSync empty cmd": func() error { _, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "abc"}); return err },
		"ExecSync negative": func() error {
			_, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "abc", Cmd: []string{"true"}, Timeout: -3})
			return err
		},
		"ExecSync absurd": func() error {
			_, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "abc", Cmd: []string{"true"}, Timeout: 1 << 60})
			return err
		},
		"Exec empty id": func() error {
			_, err := rt.Exec(ctx, &runtimeapi.ExecRequest{Cmd: []string{"sh"}, Stdout: true})
			return err
		},
		"Attach empty id": func() error { _, err := rt.Attach(ctx, &runtimeapi.AttachRequest{Stdout: true}); return err },
		"CheckpointContainer": func() error {
			_, err := rt.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{ContainerId: "abc", Timeout: -1})
			return err
		},
		"ListContainers long id": func() error {
			_, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: longID}})
			return err
		},
		"ListContainers bad state": func() error {
			_, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: -4}}})
			return err
		},
		"ListContainerStats bad selector": func() error {
			_, err := rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{LabelSelector: map[string]string{"k": "bad value!"}}})
			return err
		},
		"StreamContainers bad UTF-8": func() error {
			s, err := rt.StreamContainers(ctx, &runtimeapi.StreamContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: badUTF8}}, corrupt)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"StreamContainerStats long id": func() error {
			s, err := rt.StreamContainerStats(ctx, &runtimeapi.StreamContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{Id: longID}})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},

		// Runtime.
		"Version bad UTF-8": func() error {
			_, err := rt.Version(ctx, &runtimeapi.VersionRequest{Version: badUTF8}, corrupt)
			return err
		},
		"UpdateRuntimeConfig bad CIDR": func() error {
			_, err := rt.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.0.0.0/99"}}})
			return err
		},

		// Images.
		"PullImage nil image": func() error { _, err := img.PullImage(ctx, &runtimeapi.PullImageRequest{}); return err },
		"PullImage huge ref": func() error {
			_, err := img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: long}})
			return err
		},
		"PullImage bad UTF-8": func() error {
			_, err := img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: badUTF8}}, corrupt)
			return err
		},
		"ImageStatus nil image": func() error { _, err := img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{}); return err },
		"RemoveImage huge ref": func() error {
			_, err := img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: long}})
			return err
		},
		"ListImages huge filter": func() error {
			_, err := img.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: long}}})
			return err
		},
		"StreamImages bad annotations": func() error {
			s, err := img.StreamImages(ctx, &runtimeapi.StreamImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "busybox", Annotations: badLabel}}})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
	}
	for name, call := range cases {
		if got := status.Code(call()); got != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", name, got)
		}
	}
	if n := len(h.fake.ContainerIDs()); n != 0 {
		t.Errorf("hostile requests created %d containers", n)
	}
}
