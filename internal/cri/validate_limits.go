package cri

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits every request is held to before anything reaches the engine. The
// Kubernetes ones are Kubernetes' own (apimachinery's validation); the rest
// bound what a hostile client can make the server or runc chew on.
const (
	maxDNSLabel     = 63        // DNS-1123 label: namespaces, container names, label names
	maxDNSSubdomain = 253       // DNS-1123 subdomain: pod names, label key prefixes
	maxLabelValue   = 253       // Kubernetes allows 63; the kubelet's io.kubernetes.pod.name label carries a pod name
	maxAnnotations  = 256 << 10 // total size of annotation keys and values, as Kubernetes
	maxLabels       = 256 << 10 // total size of label keys and values
	maxPath         = 4096      // PATH_MAX
	maxHostname     = 64        // HOST_NAME_MAX
	maxIDLen        = fullIDLen // a Docker id; anything longer can never name one
	maxImageRef     = 4096      // far above any reference a registry accepts
	maxString       = 1 << 20   // any other string
	maxArg          = 128 << 10 // MAX_ARG_STRLEN: one argument or environment entry execve takes
	maxList         = 4096      // any repeated field or map
	maxPathList     = 256       // masked/readonly paths: Docker's defaults are ~15
	maxMounts       = 1024      // mounts and devices of one container
	maxTimeout      = 1<<31 - 1 // seconds: Docker's stop timeout is an int
	maxUID          = 1<<32 - 2 // (uid_t)-1 means "unchanged" to the kernel
	maxCPUShares    = 262144    // the kernel's cpu.shares maximum
	maxOOMScoreAdj  = 1000
)

var (
	// labelNameRE is the name part of a Kubernetes qualified name.
	labelNameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	// dnsSubdomainRE is a DNS-1123 subdomain (label key prefixes).
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// checkGeneric walks every field of a request: strings are valid UTF-8,
// carry no NUL (nothing of Docker's or the kernel's takes one) and are
// bounded; fields that hold paths are bounded by PATH_MAX; lists and maps
// are bounded; enums hold a defined value; repeated messages hold no nil.
func checkGeneric(m protoreflect.Message, where string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		err = checkField(fd, v, join(where, string(fd.Name())))
		return err == nil
	})
	return err
}

func join(where, name string) string {
	if where == "" {
		return name
	}
	return where + "." + name
}

func checkField(fd protoreflect.FieldDescriptor, v protoreflect.Value, where string) error {
	switch {
	case fd.IsList():
		l := v.List()
		if l.Len() > maxList {
			return invalidf("%s: %d entries (at most %d)", where, l.Len(), maxList)
		}
		for i := 0; i < l.Len(); i++ {
			if err := checkValue(fd, l.Get(i), fmt.Sprintf("%s[%d]", where, i), false); err != nil {
				return err
			}
		}
		return nil
	case fd.IsMap():
		mp := v.Map()
		if mp.Len() > maxList {
			return invalidf("%s: %d entries (at most %d)", where, mp.Len(), maxList)
		}
		// Annotation values are free text (Kubernetes allows any string).
		freeValue := fd.Name() == "annotations"
		var err error
		mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			if err = checkValue(fd.MapKey(), k.Value(), where+" key", false); err != nil {
				return false
			}
			err = checkValue(fd.MapValue(), mv, fmt.Sprintf("%s[%.40q]", where, k.String()), freeValue)
			return err == nil
		})
		return err
	}
	return checkValue(fd, v, where, false)
}

func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, where string, freeText bool) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return checkString(v.String(), where, isPathField(fd), freeText)
	case protoreflect.EnumKind:
		if fd.Enum().Values().ByNumber(v.Enum()) == nil {
			return invalidf("%s: %d is not a defined %s", where, v.Enum(), fd.Enum().Name())
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if !v.Message().IsValid() {
			return invalidf("%s: nil entry", where)
		}
		return checkGeneric(v.Message(), where)
	}
	return nil
}

// isPathField tells the fields that name files from their proto names
// (host_path, masked_paths, log_directory, working_dir, cgroup_parent …).
func isPathField(fd protoreflect.FieldDescriptor) bool {
	n := string(fd.Name())
	if fd.IsMap() {
		return false
	}
	return strings.Contains(n, "path") || strings.Contains(n, "dir") || n == "cgroup_parent" || n == "location"
}

func checkString(s, where string, path, freeText bool) error {
	if !utf8.ValidString(s) {
		return invalidf("%s: not valid UTF-8", where)
	}
	limit := maxString
	if path {
		limit = maxPath
	}
	if len(s) > limit {
		return invalidf("%s: %d bytes (at most %d)", where, len(s), limit)
	}
	if !freeText && strings.IndexByte(s, 0) >= 0 {
		return invalidf("%s: contains a NUL byte", where)
	}
	return nil
}

// validateQualifiedName checks a label or annotation key as Kubernetes
// does: [prefix/]name, prefix a DNS-1123 subdomain, name at most 63.
func validateQualifiedName(where, key string) error {
	name := key
	if prefix, n, ok := strings.Cut(key, "/"); ok {
		if prefix == "" || len(prefix) > maxDNSSubdomain || !dnsSubdomainRE.MatchString(prefix) {
			return invalidf("%s key %.80q: prefix must be a DNS-1123 subdomain of at most %d characters", where, key, maxDNSSubdomain)
		}
		name = n
	}
	if name == "" || len(name) > maxDNSLabel || !labelNameRE.MatchString(name) {
		return invalidf("%s key %.80q: name must be at most %d alphanumerics, '-', '_' or '.', starting and ending alphanumeric", where, key, maxDNSLabel)
	}
	return nil
}

// validateLabels checks CRI labels (and label selectors).
func validateLabels(where string, labels map[string]string) error {
	total := 0
	for k, v := range labels {
		if err := validateQualifiedName(where, k); err != nil {
			return err
		}
		if len(v) > maxLabelValue || (v != "" && !labelNameRE.MatchString(v)) {
			return invalidf("%s %.80q: value %.80q must be at most %d alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
				where, k, v, maxLabelValue)
		}
		total += len(k) + len(v)
	}
	if total > maxLabels {
		return invalidf("%s: %d bytes in all (at most %d)", where, total, maxLabels)
	}
	return nil
}

// validateAnnotations checks CRI annotations: keys as Kubernetes, values
// free, 256 KiB in all.
func validateAnnotations(where string, ann map[string]string) error {
	total := 0
	for k, v := range ann {
		if err := validateQualifiedName(where, k); err != nil {
			return err
		}
		total += len(k) + len(v)
	}
	if total > maxAnnotations {
		return invalidf("%s: %d bytes in all (at most %d)", where, total, maxAnnotations)
	}
	return nil
}

// validateAbsPath checks a path that must be absolute ("" allowed when
// optional).
func validateAbsPath(where, p string, optional bool) error {
	if p == "" {
		if optional {
			return nil
		}
		return invalidf("%s is empty", where)
	}
	if !filepath.IsAbs(p) {
		return invalidf("%s %.80q is not absolute", where, p)
	}
	return nil
}

// validateNoDotDot rejects a path with a ".." element (cgroup parents:
// runc joins them under the cgroup root).
func validateNoDotDot(where, p string) error {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return invalidf("%s %.80q has a '..' element", where, p)
		}
	}
	return nil
}

func validateInt64Range(where string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return invalidf("%s %d is out of range [%d, %d]", where, v, lo, hi)
	}
	return nil
}
