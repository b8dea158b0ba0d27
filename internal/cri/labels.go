package cri

import (
	"path/filepath"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// managedFilter is the label filter every listing starts from: managed
// objects of one type that this server made. Several servers (serve, play,
// tests) may share one engine; each sees only its own.
func (s *Service) managedFilter(typ string) []string {
	return []string{naming.ManagedLabelFilter, naming.LabelType + "=" + typ, ownerFilter(s.rootDir)}
}

func ownerFilter(rootDir string) string { return naming.LabelRootDir + "=" + rootDir }

// OwnerLabelFilter is the engine label filter that selects what a server
// with this root directory made (for an engine cache in front of it).
func OwnerLabelFilter(rootDir string) (string, error) {
	abs, err := filepath.Abs(rootDir)
	if err != nil {
		return "", err
	}
	return ownerFilter(abs), nil
}

// putUserLabels stores CRI labels and annotations into Docker labels.
func putUserLabels(dst, labels, annotations map[string]string) {
	for k, v := range labels {
		dst[naming.LabelUserPrefix+k] = v
	}
	for k, v := range annotations {
		dst[naming.LabelAnnotationPrefix+k] = v
	}
}

// userLabels extracts the CRI labels and annotations from Docker labels.
func userLabels(src map[string]string) (labels, annotations map[string]string) {
	labels, annotations = map[string]string{}, map[string]string{}
	for k, v := range src {
		if l, ok := strings.CutPrefix(k, naming.LabelUserPrefix); ok {
			labels[l] = v
		} else if a, ok := strings.CutPrefix(k, naming.LabelAnnotationPrefix); ok {
			annotations[a] = v
		}
	}
	return labels, annotations
}

// selectorFilters turns a CRI label selector into Docker label filters.
func selectorFilters(sel map[string]string) []string {
	out := make([]string, 0, len(sel))
	for k, v := range sel {
		out = append(out, naming.LabelUserPrefix+k+"="+v)
	}
	return out
}

// matchSelector re-checks a selector on decoded labels (the engine's filter
// is authoritative, this guards values Docker's filter syntax mangles).
func matchSelector(labels, sel map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func attemptOf(l map[string]string) uint32 {
	a, _ := strconv.ParseUint(l[naming.LabelAttempt], 10, 32)
	return uint32(a)
}

func sandboxMetadata(l map[string]string) *runtimeapi.PodSandboxMetadata {
	return &runtimeapi.PodSandboxMetadata{
		Name: l[naming.LabelPodName], Namespace: l[naming.LabelPodNamespace], Uid: l[naming.LabelPodUID], Attempt: attemptOf(l),
	}
}

func containerMetadata(l map[string]string) *runtimeapi.ContainerMetadata {
	return &runtimeapi.ContainerMetadata{Name: l[naming.LabelContainerName], Attempt: attemptOf(l)}
}

func createdOf(l map[string]string, fallbackUnix int64) int64 {
	if n, err := strconv.ParseInt(l[naming.LabelCreated], 10, 64); err == nil {
		return n
	}
	return fallbackUnix * 1e9
}

func namespaceOptionsOf(l map[string]string) *runtimeapi.NamespaceOption {
	mode := func(k string) runtimeapi.NamespaceMode {
		n, _ := strconv.Atoi(l[k])
		return runtimeapi.NamespaceMode(n)
	}
	return &runtimeapi.NamespaceOption{
		Network:  mode(naming.LabelNSNetwork),
		Pid:      mode(naming.LabelNSPID),
		Ipc:      mode(naming.LabelNSIPC),
		TargetId: l[naming.LabelNSTarget],
	}
}

func putNamespaceOptions(dst map[string]string, ns *runtimeapi.NamespaceOption) {
	dst[naming.LabelNSNetwork] = strconv.Itoa(int(ns.GetNetwork()))
	dst[naming.LabelNSPID] = strconv.Itoa(int(ns.GetPid()))
	dst[naming.LabelNSIPC] = strconv.Itoa(int(ns.GetIpc()))
	if ns.GetTargetId() != "" {
		dst[naming.LabelNSTarget] = ns.GetTargetId()
	}
}
