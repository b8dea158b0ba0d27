package naming

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics on any input, and whatever Build makes from
// valid fields Parse gives back unchanged.
func FuzzParse(f *testing.F) {
	f.Add("k8s_app_web_default_u1_2", "app", "web", "default", "u1", uint32(2))
	f.Add("/k8s_app.ff_web_default_u1_0a1b", "POD", "p.q", "kube-system", "0b1c-2d", uint32(0))
	f.Add("k8s__", "c", "p", "n", "u", uint32(4294967295))
	f.Add("", "a", "b", "c", "d", uint32(1))
	f.Fuzz(func(t *testing.T, raw, container, pod, namespace, uid string, attempt uint32) {
		nm := New("")
		_, _ = nm.Parse(raw)
		_, _ = New("dltkit").Parse(raw)

		// Build's contract: no '_' in any field, no '.' in the container
		// name (it would read as a legacy hash), no empty field.
		for _, s := range []string{container, pod, namespace, uid} {
			if s == "" || strings.Contains(s, "_") {
				return
			}
		}
		if strings.Contains(container, ".") {
			return
		}
		in := Name{Container: container, Pod: pod, Namespace: namespace, UID: uid, Attempt: attempt}
		name := nm.Build(in)
		for _, n := range []string{name, "/" + name} {
			got, err := nm.Parse(n)
			if err != nil {
				t.Fatalf("Parse(Build(%+v)) = %q: %v", in, n, err)
			}
			if got != in {
				t.Fatalf("Parse(Build(%+v)) = %+v", in, got)
			}
		}
	})
}
