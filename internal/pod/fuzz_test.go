package pod

import (
	"bytes"
	"testing"
)

// FuzzParse: manifests never panic the decoder, and every pod a manifest
// yields translates into a sandbox config without a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(multiDoc))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: busybox}]}\n"))
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  template:\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {hostNetwork: true, containers: [{name: c, image: y}]}}]\n"))
	f.Add([]byte("---\n---\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range m.Pods {
			if p == nil {
				t.Fatal("nil pod in a parsed manifest")
			}
			_, _ = SandboxConfig(p, t.TempDir(), "fuzz.yaml", 0)
		}
	})
}
