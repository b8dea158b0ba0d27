package playcli

import (
	"encoding/json"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// podList is the v1 List kubectl prints for more than one object (or
// none): items are full v1.Pod objects.
type podList struct {
	APIVersion string          `json:"apiVersion"`
	Items      []*corev1.Pod   `json:"items"`
	Kind       string          `json:"kind"`
	Metadata   metav1.ListMeta `json:"metadata"`
}

// printObjects writes pods as kubectl get -o json|yaml does: the Pod
// itself when one was asked for by name, a List otherwise (an empty one
// when nothing matched).
func printObjects(w io.Writer, format string, pods []podRef, byName bool) error {
	var obj any
	if byName && len(pods) == 1 {
		obj = pod.APIPod(pods[0].pod, pods[0].status)
	} else {
		l := podList{APIVersion: "v1", Kind: "List", Items: []*corev1.Pod{}}
		for _, r := range pods {
			l.Items = append(l.Items, pod.APIPod(r.pod, r.status))
		}
		obj = l
	}
	if format == "yaml" {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(obj)
}
