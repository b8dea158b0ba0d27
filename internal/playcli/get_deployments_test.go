package playcli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// TestGetDeployments: the columns count the Deployment's pods: ready,
// of the current template, available.
func TestGetDeployments(t *testing.T) {
	m, err := pod.Parse("/d.yaml", strings.NewReader(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec: {containers: [{name: c, image: i}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	store := pod.Store{Dir: t.TempDir()}
	a := pod.NewApplied(m, nil, time.Now())
	if err := store.SaveApplied(a); err != nil {
		t.Fatal(err)
	}
	d := a.Deployments[0]
	hash := pod.TemplateHash(&d.Spec.Template)
	st := &pod.DeploymentState{UID: string(d.UID), Name: d.Name, Namespace: d.Namespace, Hash: hash}
	for i, h := range []string{hash, "oldhash"} {
		p := &corev1.Pod{}
		p.Name, p.UID = "web-"+h+"-"+string(rune('a'+i)), types.UID("uid-"+h)
		st.Pods = append(st.Pods, pod.DeploymentPod{Pod: p, Hash: h})
		if err := store.WriteStatus(pod.PodStatus{UID: string(p.UID), Name: p.Name, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SaveDeployment(st); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := getDeployments(&out, store, "default", "", "", false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[1])[:4], " ") != "web 2/2 1 2" {
		t.Fatalf("get deployments:\n%s", out.String())
	}
	if err := getDeployments(&out, store, "default", "nope", "", false); err == nil {
		t.Fatal("an unknown name is not an error")
	}
}
