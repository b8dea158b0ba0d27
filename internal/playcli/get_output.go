package playcli

import (
	"encoding/json"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/dockerlet/dockerlet/internal/pod"
)

// list is the v1 List kubectl prints for more than one object (or none).
type list[T any] struct {
	APIVersion string          `json:"apiVersion"`
	Items      []T             `json:"items"`
	Kind       string          `json:"kind"`
	Metadata   metav1.ListMeta `json:"metadata"`
}

// printList writes objects as kubectl get -o json|yaml does: the object
// itself when one was asked for by name, a List otherwise (an empty one
// when nothing matched).
func printList[T any](w io.Writer, format string, items []T, byName bool) error {
	var obj any = list[T]{APIVersion: "v1", Kind: "List", Items: append([]T{}, items...)}
	if byName && len(items) == 1 {
		obj = items[0]
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

// printObjects writes pods as full v1.Pod objects (printList).
func printObjects(w io.Writer, format string, pods []podRef, byName bool) error {
	items := make([]*corev1.Pod, 0, len(pods))
	for _, r := range pods {
		items = append(items, pod.APIPod(r.pod, r.status))
	}
	return printList(w, format, items, byName)
}
