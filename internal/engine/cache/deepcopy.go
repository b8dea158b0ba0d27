package cache

import (
	"reflect"
	"sync"
)

// deepCopy returns a copy of v that shares no mutable memory with it:
// pointers, slices and maps are duplicated recursively. Unexported fields are
// copied by value (they belong to value types such as netip.Addr and
// network.Port, whose internals are immutable). It is several times faster
// than a JSON round trip; see BenchmarkCopyInspect.
func deepCopy[T any](v T) T {
	var out T
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.ValueOf(&out).Elem()
	copyValue(dst, src)
	return out
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if plain(src.Type().Elem()) {
			reflect.Copy(s, src)
		} else {
			for i := range src.Len() {
				copyValue(s.Index(i), src.Index(i))
			}
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		elem := src.Type().Elem()
		it := src.MapRange()
		for it.Next() {
			if plain(elem) {
				m.SetMapIndex(it.Key(), it.Value())
				continue
			}
			v := reflect.New(elem).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		copyValue(v, src.Elem())
		dst.Set(v)
	case reflect.Struct:
		dst.Set(src) // value fields and unexported state
		for _, i := range deepFields(src.Type()) {
			copyValue(dst.Field(i), src.Field(i))
		}
	case reflect.Array:
		dst.Set(src)
		if !plain(src.Type().Elem()) {
			for i := range src.Len() {
				copyValue(dst.Index(i), src.Index(i))
			}
		}
	default:
		dst.Set(src)
	}
}

// structFields memoises deepFields.
var structFields sync.Map // reflect.Type → []int

// deepFields lists the exported fields of struct type t that hold
// references and so need a recursive copy.
func deepFields(t reflect.Type) []int {
	if v, ok := structFields.Load(t); ok {
		return v.([]int)
	}
	var idx []int
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && !plain(f.Type) {
			idx = append(idx, i)
		}
	}
	structFields.Store(t, idx)
	return idx
}

// plainTypes memoises plain: a pure function of the type, so sharing it
// between caches is safe.
var plainTypes sync.Map // reflect.Type → bool

// plain reports whether values of t hold no pointers that a caller could use
// to mutate shared state, so that assignment is a deep copy.
func plain(t reflect.Type) bool {
	if v, ok := plainTypes.Load(t); ok {
		return v.(bool)
	}
	p := isPlain(t)
	plainTypes.Store(t, p)
	return p
}

func isPlain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return false
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && !isPlain(f.Type) {
				return false
			}
		}
		return true
	case reflect.Array:
		return isPlain(t.Elem())
	}
	return true
}
