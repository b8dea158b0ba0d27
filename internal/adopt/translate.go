package adopt

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// cri-dockerd's names: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>,
// with "POD" as the sandbox's container; a random eighth-field suffix when
// it hit Docker's name-conflict bug.
const (
	kubePrefix       = "k8s"
	sandboxContainer = "POD"
)

// parsedName is the CRI metadata a cri-dockerd name carries.
type parsedName struct {
	container, pod, namespace, uid string
	attempt                        uint32
}

// parseName reads a cri-dockerd container name as cri-dockerd does
// (parseSandboxName, parseContainerName): six fields, or seven with the
// random suffix, prefix k8s and a decimal attempt.
func parseName(name string) (parsedName, error) {
	name = strings.TrimPrefix(name, "/")
	parts := strings.Split(name, "_")
	if len(parts) != 6 && len(parts) != 7 {
		return parsedName{}, fmt.Errorf("name %q is not cri-dockerd's (%d fields)", name, len(parts))
	}
	if parts[0] != kubePrefix {
		return parsedName{}, fmt.Errorf("name %q does not start with %s_", name, kubePrefix)
	}
	a, err := strconv.ParseUint(parts[5], 10, 32)
	if err != nil {
		return parsedName{}, fmt.Errorf("name %q: attempt %q: %w", name, parts[5], err)
	}
	for _, p := range parts[1:5] {
		if p == "" {
			return parsedName{}, fmt.Errorf("name %q has an empty field", name)
		}
	}
	return parsedName{container: parts[1], pod: parts[2], namespace: parts[3], uid: parts[4], attempt: uint32(a)}, nil
}

// internalLabels are cri-dockerd's own; everything else on its containers
// is the kubelet's (labels as they are, annotations prefixed) or the
// image's, and cri-dockerd reports all of it as CRI labels.
var internalLabels = map[string]bool{
	naming.CRIDockerdLabelType:      true,
	naming.CRIDockerdLabelLogPath:   true,
	naming.CRIDockerdLabelSandboxID: true,
}

// putUserLabels stores what cri-dockerd reports as the CRI labels and
// annotations (its extractLabels) under dockerlet's prefixes, so that
// dockerlet reports exactly what cri-dockerd did: the kubelet compares
// the container hash annotation, and a change would restart containers.
func putUserLabels(dst, src map[string]string, sandbox bool) {
	for k, v := range src {
		switch {
		case internalLabels[k]:
		case sandbox && k == naming.CRIDockerdLabelContainerName:
		case strings.HasPrefix(k, naming.CRIDockerdAnnotationPrefix):
			dst[naming.LabelAnnotationPrefix+strings.TrimPrefix(k, naming.CRIDockerdAnnotationPrefix)] = v
		default:
			dst[naming.LabelUserPrefix+k] = v
		}
	}
}

// createdNanos is Docker's creation time in Unix nanoseconds, as
// cri-dockerd's status reported it.
func createdNanos(in *container.InspectResponse) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, in.Created)
	if err != nil {
		return 0, fmt.Errorf("container %s: created %q: %w", in.ID, in.Created, err)
	}
	return t.UnixNano(), nil
}

// namespaceMode is cri-dockerd's reading of a sandbox's namespaces in
// PodSandboxStatus: host, else the pod's (or the container's, for pid).
func namespaceMode(mode string, otherwise runtimeapi.NamespaceMode) string {
	if mode == "host" {
		return strconv.Itoa(int(runtimeapi.NamespaceMode_NODE))
	}
	return strconv.Itoa(int(otherwise))
}

// common are the labels both kinds show: cri-dockerd's own (kept, for
// whoever inspects), dockerlet's ownership and the CRI metadata.
func (s *Set) common(in *container.InspectResponse, typ string, n parsedName) (map[string]string, error) {
	created, err := createdNanos(in)
	if err != nil {
		return nil, err
	}
	src := in.Config.Labels
	out := make(map[string]string, 2*len(src)+16)
	maps.Copy(out, src) // dockerlet's keys below win
	putUserLabels(out, src, typ == naming.TypeSandbox)
	out[naming.LabelManaged] = "true"
	out[naming.LabelType] = typ
	out[naming.LabelRootDir] = s.owner
	out[naming.LabelCreated] = strconv.FormatInt(created, 10)
	out[naming.LabelAdopted] = naming.AdoptedFromCRIDockerd
	out[naming.LabelPodName] = n.pod
	out[naming.LabelPodNamespace] = n.namespace
	out[naming.LabelPodUID] = n.uid
	out[naming.LabelAttempt] = strconv.FormatUint(uint64(n.attempt), 10)
	return out, nil
}

// sandboxLabels are the labels an adopted sandbox shows.
func (s *Set) sandboxLabels(in *container.InspectResponse, n parsedName) (map[string]string, error) {
	out, err := s.common(in, naming.TypeSandbox, n)
	if err != nil {
		return nil, err
	}
	var hc container.HostConfig
	if in.HostConfig != nil {
		hc = *in.HostConfig
	}
	out[naming.LabelNSNetwork] = namespaceMode(string(hc.NetworkMode), runtimeapi.NamespaceMode_POD)
	out[naming.LabelNSPID] = namespaceMode(string(hc.PidMode), runtimeapi.NamespaceMode_CONTAINER)
	out[naming.LabelNSIPC] = namespaceMode(string(hc.IpcMode), runtimeapi.NamespaceMode_POD)
	if s.cniCacheDir != "" {
		out[naming.LabelCNICacheDir] = s.cniCacheDir
	}
	return out, nil
}

// containerLabels are the labels an adopted container shows. Its log path
// is cri-dockerd's symlink to Docker's json-file log, which the kubelet
// reads as it did; there is no log directory label, so dockerlet's log
// copier never writes there.
func (s *Set) containerLabels(in *container.InspectResponse, n parsedName) (map[string]string, error) {
	out, err := s.common(in, naming.TypeContainer, n)
	if err != nil {
		return nil, err
	}
	src := in.Config.Labels
	out[naming.LabelContainerName] = n.container
	out[naming.LabelSandboxID] = src[naming.CRIDockerdLabelSandboxID]
	out[naming.LabelImage] = in.Config.Image
	if p := src[naming.CRIDockerdLabelLogPath]; p != "" {
		out[naming.LabelLogPath] = p
	}
	return out, nil
}
