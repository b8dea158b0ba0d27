package cri

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// FuzzValidateRequest: whatever bytes decode into a request, validation
// answers without a panic, and what it accepts keeps its limits.
func FuzzValidateRequest(f *testing.F) {
	seed := func(m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("a")})
	seed(&runtimeapi.CreateContainerRequest{PodSandboxId: "abc", Config: containerConfig("c"), SandboxConfig: sandboxConfig("a")})
	seed(&runtimeapi.UpdateContainerResourcesRequest{ContainerId: "abc", Linux: &runtimeapi.LinuxContainerResources{CpuShares: 2}})
	seed(&runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"a": "b"}}})
	newReqs := []func() proto.Message{
		func() proto.Message { return &runtimeapi.RunPodSandboxRequest{} },
		func() proto.Message { return &runtimeapi.CreateContainerRequest{} },
		func() proto.Message { return &runtimeapi.UpdateContainerResourcesRequest{} },
		func() proto.Message { return &runtimeapi.ListContainersRequest{} },
		func() proto.Message { return &runtimeapi.ExecSyncRequest{} },
		func() proto.Message { return &runtimeapi.PullImageRequest{} },
		func() proto.Message { return &runtimeapi.PortForwardRequest{} },
		func() proto.Message { return &runtimeapi.UpdateRuntimeConfigRequest{} },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range newReqs {
			m := mk()
			if proto.Unmarshal(data, m) != nil {
				continue
			}
			if err := validateRequest(m); err != nil {
				continue
			}
			if r, ok := m.(*runtimeapi.CreateContainerRequest); ok {
				sc := r.GetConfig().GetLinux().GetSecurityContext()
				if len(sc.GetMaskedPaths()) > maxPathList || len(r.GetConfig().GetMounts()) > maxMounts {
					t.Fatalf("accepted %d masked paths, %d mounts", len(sc.GetMaskedPaths()), len(r.GetConfig().GetMounts()))
				}
			}
		}
	})
}
