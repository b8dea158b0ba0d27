package cache

import (
	"slices"
	"strings"
	"sync"
	"unique"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// interner shares one record's strings (see slim): constants from common,
// interned values whose handles it collects, each once, and the record's
// and its sandbox's own strings, found again within the record.
type interner struct {
	keep []unique.Handle[string]
	seen []string // per-object strings of this record and its sandbox
}

// internMin is the shortest string worth a handle (8 bytes a record):
// shorter ones cost about as little as the handle.
const internMin = 8

// str shares s with every record that carries it.
func (t *interner) str(s string) string {
	if c, ok := common[s]; ok {
		return c
	}
	if len(s) < internMin {
		return s
	}
	h := unique.Make(s)
	if !slices.Contains(t.keep, h) {
		t.keep = append(t.keep, h)
	}
	return h.Value()
}

// own shares s, a string of this pod or container (an id, a name, a
// time), with the record and its sandbox: interning it would cost more
// than the copies it saves.
func (t *interner) own(s string) string {
	if c, ok := common[s]; ok {
		return c
	}
	for _, x := range t.seen {
		if x == s {
			return x
		}
	}
	t.seen = append(t.seen, s)
	return s
}

// seed offers the sandbox record's strings to own.
func (t *interner) seed(sb *container.InspectResponse) {
	if sb == nil {
		return
	}
	t.seen = append(t.seen, sb.ID)
	if sb.Config != nil {
		t.seen = append(t.seen, sb.Config.Hostname)
		for k := range perObject {
			if v, ok := sb.Config.Labels[k]; ok {
				t.seen = append(t.seen, v)
			}
		}
	}
	if sb.HostConfig != nil {
		t.seen = append(t.seen, sb.HostConfig.CgroupParent)
	}
}

func (t *interner) strs(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = t.str(v)
	}
	return out
}

func (t *interner) labels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if perObject[k] {
			v = t.own(v)
		} else {
			v = t.str(v)
		}
		out[t.str(k)] = v
	}
	return out
}

// list returns a shared copy of s, a list that many records repeat whole
// (the masked and read-only paths: Docker's defaults, the kubelet's, none
// when privileged; security options). Lists past the first maxLists are
// interned element by element instead.
func (t *interner) list(s []string) []string {
	if len(s) == 0 {
		return s
	}
	key := strings.Join(s, "\x00")
	lists.mu.Lock()
	defer lists.mu.Unlock()
	if c, ok := lists.m[key]; ok {
		return c
	}
	if len(lists.m) >= maxLists {
		return t.strs(s)
	}
	c := slices.Clone(s)
	lists.m[key] = c
	return c
}

// maxLists bounds the lists shared: they are never freed.
const maxLists = 32

var lists = struct {
	mu sync.Mutex
	m  map[string][]string
}{m: map[string][]string{}}

// handles returns the collected handles in a slice of their own size.
func (t *interner) handles() []unique.Handle[string] {
	if len(t.keep) == 0 {
		return nil
	}
	return slices.Clone(t.keep)
}

// perObject are the labels whose values belong to one pod or container
// (ids, names, times, paths); own shares them. Every other value is
// interned. A wrong guess either way costs memory, never correctness.
var perObject = map[string]bool{
	naming.LabelCreated: true, naming.LabelSandboxID: true, naming.LabelNSTarget: true,
	naming.LabelPodName: true, naming.LabelPodUID: true,
	naming.LabelLogPath: true, naming.LabelLogDir: true, naming.LabelCNICacheDir: true,
	naming.LabelUserPrefix + naming.KubeletLabelPodName:        true,
	naming.LabelUserPrefix + naming.KubeletLabelPodUID:         true,
	naming.KubeletLabelPodName:                                 true,
	naming.KubeletLabelPodUID:                                  true,
	naming.CRIDockerdLabelSandboxID:                            true,
	naming.CRIDockerdLabelLogPath:                              true,
	naming.LabelAnnotationPrefix + "kubernetes.io/config.seen": true,
}

// common holds strings that most records carry (dockerlet's label keys,
// the kubelet's, usual values); they are shared as constants, with no
// handle to keep.
var common = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		naming.LabelManaged, naming.LabelType, naming.LabelSandboxID, naming.LabelRootDir, naming.LabelCreated,
		naming.LabelPodName, naming.LabelPodNamespace, naming.LabelPodUID, naming.LabelContainerName, naming.LabelAttempt,
		naming.LabelImage, naming.LabelUserImage, naming.LabelLogPath, naming.LabelLogDir, naming.LabelRuntimeHandler,
		naming.LabelNSNetwork, naming.LabelNSPID, naming.LabelNSIPC, naming.LabelNSTarget,
		naming.LabelAdopted, naming.LabelCNICacheDir, naming.AdoptedFromCRIDockerd,
		naming.TypeSandbox, naming.TypeContainer, "true", "false", "0", "1", "2", "3", "30", "default", "File", "api",
		"running", "created", "exited", "paused", "restarting", "removing", "dead", "0001-01-01T00:00:00Z",
		"runc", "json-file", "overlay2", "seccomp=unconfined", "no-new-privileges",
		"host", "bridge", "none", "shareable", "private",
		"bind", "volume", "tmpfs", "rprivate", "rslave", "rshared", "ro,rprivate", "ro", "rw", "local",
		"/dev/termination-log", "/etc/hosts", "/var/run/secrets/kubernetes.io/serviceaccount",
	} {
		m[s] = s
	}
	for _, k := range []string{
		naming.KubeletLabelPodName, naming.KubeletLabelPodNamespace, naming.KubeletLabelPodUID,
		naming.KubeletLabelContainerName, naming.PlayLabel, naming.PlayLabelSource,
	} {
		m[naming.LabelUserPrefix+k] = naming.LabelUserPrefix + k
	}
	for _, k := range []string{
		"io.kubernetes.container.hash", "io.kubernetes.container.restartCount",
		"io.kubernetes.container.terminationMessagePath", "io.kubernetes.container.terminationMessagePolicy",
		"io.kubernetes.pod.terminationGracePeriod", "io.kubernetes.container.preStopHandler",
		"io.kubernetes.container.ports", "kubernetes.io/config.seen", "kubernetes.io/config.source",
	} {
		m[naming.LabelAnnotationPrefix+k] = naming.LabelAnnotationPrefix + k
	}
	return m
}()
