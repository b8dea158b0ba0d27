package cri

import (
	"path/filepath"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// Docker labels that carry CRI state. CRI labels and annotations live under
// their own prefixes so that they round-trip exactly and can never collide
// with dockerlet's own keys.
const (
	labelPodName        = naming.LabelPrefix + "pod.name"
	labelPodNamespace   = naming.LabelPrefix + "pod.namespace"
	labelPodUID         = naming.LabelPrefix + "pod.uid"
	labelAttempt        = naming.LabelPrefix + "attempt"
	labelContainerName  = naming.LabelPrefix + "container.name"
	labelImage          = naming.LabelPrefix + "image"
	labelUserImage      = naming.LabelPrefix + "image.user-specified"
	labelLogPath        = naming.LabelPrefix + "log-path"
	labelLogDir         = naming.LabelPrefix + "log-directory"
	labelCreated        = naming.LabelPrefix + "created"
	labelRuntimeHandler = naming.LabelPrefix + "runtime-handler"
	labelNSNetwork      = naming.LabelPrefix + "ns.network"
	labelNSPID          = naming.LabelPrefix + "ns.pid"
	labelNSIPC          = naming.LabelPrefix + "ns.ipc"
	labelNSTarget       = naming.LabelPrefix + "ns.target"
	userLabelPrefix     = naming.LabelPrefix + "label."
	annotationPrefix    = naming.LabelPrefix + "annotation."
)

// managedFilter is the label filter every listing starts from: managed
// objects of one type that this server made. Several servers (serve, play,
// tests) may share one engine; each sees only its own.
func (s *Service) managedFilter(typ string) []string {
	return []string{naming.ManagedLabelFilter, naming.LabelType + "=" + typ, ownerFilter(s.rootDir)}
}

func ownerFilter(rootDir string) string { return labelRootDir + "=" + rootDir }

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
		dst[userLabelPrefix+k] = v
	}
	for k, v := range annotations {
		dst[annotationPrefix+k] = v
	}
}

// userLabels extracts the CRI labels and annotations from Docker labels.
func userLabels(src map[string]string) (labels, annotations map[string]string) {
	labels, annotations = map[string]string{}, map[string]string{}
	for k, v := range src {
		if l, ok := strings.CutPrefix(k, userLabelPrefix); ok {
			labels[l] = v
		} else if a, ok := strings.CutPrefix(k, annotationPrefix); ok {
			annotations[a] = v
		}
	}
	return labels, annotations
}

// selectorFilters turns a CRI label selector into Docker label filters.
func selectorFilters(sel map[string]string) []string {
	out := make([]string, 0, len(sel))
	for k, v := range sel {
		out = append(out, userLabelPrefix+k+"="+v)
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
	a, _ := strconv.ParseUint(l[labelAttempt], 10, 32)
	return uint32(a)
}

func sandboxMetadata(l map[string]string) *runtimeapi.PodSandboxMetadata {
	return &runtimeapi.PodSandboxMetadata{
		Name: l[labelPodName], Namespace: l[labelPodNamespace], Uid: l[labelPodUID], Attempt: attemptOf(l),
	}
}

func containerMetadata(l map[string]string) *runtimeapi.ContainerMetadata {
	return &runtimeapi.ContainerMetadata{Name: l[labelContainerName], Attempt: attemptOf(l)}
}

func createdOf(l map[string]string, fallbackUnix int64) int64 {
	if n, err := strconv.ParseInt(l[labelCreated], 10, 64); err == nil {
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
		Network:  mode(labelNSNetwork),
		Pid:      mode(labelNSPID),
		Ipc:      mode(labelNSIPC),
		TargetId: l[labelNSTarget],
	}
}

func putNamespaceOptions(dst map[string]string, ns *runtimeapi.NamespaceOption) {
	dst[labelNSNetwork] = strconv.Itoa(int(ns.GetNetwork()))
	dst[labelNSPID] = strconv.Itoa(int(ns.GetPid()))
	dst[labelNSIPC] = strconv.Itoa(int(ns.GetIpc()))
	if ns.GetTargetId() != "" {
		dst[labelNSTarget] = ns.GetTargetId()
	}
}
