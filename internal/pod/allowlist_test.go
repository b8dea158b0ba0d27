package pod

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestAllowListNamesRealFields guards the allow-list against typos: every
// honoured path must be a field of the Kubernetes type.
func TestAllowListNamesRealFields(t *testing.T) {
	for _, tt := range []struct {
		kind, apiVersion string
		typ              reflect.Type
	}{
		{"Pod", "v1", reflect.TypeOf(corev1.Pod{})},
		{"Secret", "v1", reflect.TypeOf(corev1.Secret{})},
		{"ConfigMap", "v1", reflect.TypeOf(corev1.ConfigMap{})},
		{"Deployment", "apps/v1", reflect.TypeOf(appsv1.Deployment{})},
		{"ReplicaSet", "apps/v1", reflect.TypeOf(appsv1.ReplicaSet{})},
		{"Job", "batch/v1", reflect.TypeOf(batchv1.Job{})},
	} {
		root, err := allowListFor(tt.apiVersion, tt.kind)
		if err != nil {
			t.Fatal(err)
		}
		var check func(n *fieldNode, typ reflect.Type, path string)
		check = func(n *fieldNode, typ reflect.Type, path string) {
			for name, child := range n.children {
				ft, ok := fieldType(typ, name)
				if !ok {
					t.Errorf("%s: %s.%s is not a field", tt.kind, path, name)
					continue
				}
				check(child, ft, path+"."+name)
			}
		}
		check(root, tt.typ, "")
	}
}

// fieldType follows one JSON path element: a struct field by its json
// name (inlined structs included), "*" for a map's values; slices and
// pointers are looked through.
func fieldType(typ reflect.Type, name string) (reflect.Type, bool) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ.Kind() == reflect.Map {
		return typ.Elem(), true // "*" or a fixed key (resources.limits.cpu)
	}
	if typ.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")
		if tag[0] == name {
			return f.Type, true
		}
		if len(tag) > 1 && tag[1] == "inline" || f.Anonymous && tag[0] == "" {
			if ft, ok := fieldType(f.Type, name); ok {
				return ft, true
			}
		}
	}
	return nil, false
}
