package pod

import (
	"strings"
	"testing"
)

func TestLoadServicePorts(t *testing.T) {
	const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n---\n"
	load := func(svc string) (*Manifest, error) {
		return Load("-", strings.NewReader(pod+"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"+svc))
	}
	// Honoured now: no warning for targetPort, NodePort, LoadBalancer,
	// nodePort.
	for _, spec := range []string{
		"spec: {selector: {a: b}, ports: [{port: 80, targetPort: 8080}]}",
		"spec: {selector: {a: b}, ports: [{port: 80, targetPort: http}]}",
		"spec: {type: NodePort, selector: {a: b}, ports: [{port: 80, nodePort: 30080}]}",
		"spec: {type: LoadBalancer, selector: {a: b}, ports: [{port: 80, protocol: UDP}]}",
	} {
		m, err := load(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if len(m.Warnings) != 0 {
			t.Errorf("%s: warnings %v", spec, m.Warnings)
		}
	}
	// Still not honoured: warned with their path.
	for spec, path := range map[string]string{
		"spec: {clusterIP: 10.96.0.10, selector: {a: b}}":                             "spec.clusterIP",
		"spec: {sessionAffinity: ClientIP, selector: {a: b}}":                         "spec.sessionAffinity",
		"spec: {type: NodePort, externalTrafficPolicy: Local, ports: [{port: 80}]}":   "spec.externalTrafficPolicy",
		"spec: {type: ExternalName, externalName: example.invalid, selector: {a: b}}": "spec.type",
	} {
		m, err := load(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		found := false
		for _, w := range m.Warnings {
			found = found || strings.Contains(w.String(), path)
		}
		if !found {
			t.Errorf("%s: no warning on %s: %v", spec, path, m.Warnings)
		}
	}
	// Refused, as the API server refuses them.
	for spec, want := range map[string]string{
		"spec: {ports: [{port: 80, nodePort: 30080}]}":              "may not be used when type is",
		"spec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}": "outside the node port range",
		"spec: {type: Cluster, ports: [{port: 80}]}":                "want ClusterIP, NodePort or LoadBalancer",
		"spec: {ports: [{port: 0}]}":                                "want 1-65535",
		"spec: {ports: [{port: 80, targetPort: 70000}]}":            "want 1-65535",
	} {
		if _, err := load(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
}
