package pod

import (
	"fmt"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Objects resolves the Secrets and ConfigMaps a pod refers to.
type Objects interface {
	Secret(ns, name string) (*corev1.Secret, bool)
	ConfigMap(ns, name string) (*corev1.ConfigMap, bool)
}

// envVars builds a container's environment as the kubelet does: envFrom
// first (in order), then env, later entries overriding earlier ones, with
// $(VAR) references in env values expanded against what came before.
func envVars(p *corev1.Pod, c *corev1.Container, objs Objects, podIP string) ([]*runtimeapi.KeyValue, error) {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for i, ef := range c.EnvFrom {
		data, err := envFromSource(p.Namespace, ef, objs)
		if err != nil {
			return nil, fmt.Errorf("container %s: envFrom[%d]: %w", c.Name, i, err)
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(ef.Prefix+k, data[k])
		}
	}
	for i, e := range c.Env {
		if e.Name == "" {
			return nil, fmt.Errorf("container %s: env[%d].name is required", c.Name, i)
		}
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vals))
			continue
		}
		v, ok, err := envValueFrom(p, e.ValueFrom, objs, podIP)
		if err != nil {
			return nil, fmt.Errorf("container %s: env %s: %w", c.Name, e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	out := make([]*runtimeapi.KeyValue, 0, len(order))
	for _, k := range order {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(vals[k])})
	}
	return out, nil
}

func envFromSource(ns string, ef corev1.EnvFromSource, objs Objects) (map[string]string, error) {
	switch {
	case ef.ConfigMapRef != nil:
		cm, ok := objs.ConfigMap(ns, ef.ConfigMapRef.Name)
		if !ok {
			if isOptional(ef.ConfigMapRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("configMap %q not found in the manifest", ef.ConfigMapRef.Name)
		}
		return cm.Data, nil
	case ef.SecretRef != nil:
		s, ok := objs.Secret(ns, ef.SecretRef.Name)
		if !ok {
			if isOptional(ef.SecretRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %q not found in the manifest", ef.SecretRef.Name)
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("neither configMapRef nor secretRef")
}

// envValueFrom resolves one valueFrom; ok is false for a missing optional
// key (the variable is then not set at all).
func envValueFrom(p *corev1.Pod, vf *corev1.EnvVarSource, objs Objects, podIP string) (string, bool, error) {
	switch {
	case vf.ConfigMapKeyRef != nil:
		r := vf.ConfigMapKeyRef
		cm, ok := objs.ConfigMap(p.Namespace, r.Name)
		if !ok {
			return "", false, optionalErr(r.Optional, "configMap %q not found in the manifest", r.Name)
		}
		v, ok := cm.Data[r.Key]
		if !ok {
			if b, bok := cm.BinaryData[r.Key]; bok {
				return string(b), true, nil
			}
			return "", false, optionalErr(r.Optional, "configMap %q has no key %q", r.Name, r.Key)
		}
		return v, true, nil
	case vf.SecretKeyRef != nil:
		r := vf.SecretKeyRef
		s, ok := objs.Secret(p.Namespace, r.Name)
		if !ok {
			return "", false, optionalErr(r.Optional, "secret %q not found in the manifest", r.Name)
		}
		v, ok := s.Data[r.Key]
		if !ok {
			return "", false, optionalErr(r.Optional, "secret %q has no key %q", r.Name, r.Key)
		}
		return string(v), true, nil
	case vf.FieldRef != nil:
		v, err := fieldRef(p, vf.FieldRef.FieldPath, podIP)
		return v, err == nil, err
	}
	return "", false, fmt.Errorf("valueFrom: resourceFieldRef and fileKeyRef are not supported by dockerlet")
}

func optionalErr(opt *bool, format string, args ...any) error {
	if isOptional(opt) {
		return nil
	}
	return fmt.Errorf(format, args...)
}

func isOptional(b *bool) bool { return b != nil && *b }

// fieldRef resolves the downward-API fields that make sense on one host.
func fieldRef(p *corev1.Pod, path, podIP string) (string, error) {
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return "127.0.0.1", nil
	case "spec.nodeName":
		h, _ := os.Hostname()
		return h, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": p.Labels, "metadata.annotations": p.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if k, ok := strings.CutSuffix(rest, "']"); ok {
				return m[k], nil
			}
		}
	}
	return "", fmt.Errorf("fieldRef %q is not supported by dockerlet (metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], status.podIP, status.hostIP, spec.nodeName)", path)
}

// expand replaces $(VAR) with VAR's value when known; $$ escapes a $.
// Unknown references stay as written, as in Kubernetes.
func expand(s string, vals map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vals[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// expandAll expands command and args against the final environment.
func expandAll(in []string, env []*runtimeapi.KeyValue) []string {
	if len(in) == 0 {
		return in
	}
	vals := make(map[string]string, len(env))
	for _, kv := range env {
		vals[kv.Key] = string(kv.Value)
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vals)
	}
	return out
}
