// Package pod is dockerlet's one-host pod runner: Kubernetes manifests in,
// CRI calls out. It loads Pod YAML (and the Secrets, ConfigMaps and
// workloads that come with it), translates each pod into CRI sandbox and
// container configs, and supervises the pods with the kubelet's semantics:
// init containers, restart policies with back-off, probes, lifecycle hooks.
//
// The package speaks only the CRI (Runtime): `dockerlet play` hands it the
// same in-process service that `dockerlet serve` exposes over gRPC, so the
// two front ends cannot drift apart.
package pod
