package cri

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/system"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// The Docker API versions that carry what the CRI asks beyond Docker
// 20.10's API 1.41, each with the first Docker release that speaks it (for
// the error messages).
const (
	// apiBindOptionsRRO: BindOptions.ReadOnlyNonRecursive and
	// ReadOnlyForceRecursive, runtime features in `docker info`, CDI spec
	// directories in `docker info` (Docker 25). From this version on a
	// read-only bind is recursively read-only unless it says otherwise.
	apiBindOptionsRRO = "1.44"
	// apiImageMounts: mounts of type image, with a subpath (Docker 28).
	apiImageMounts = "1.48"
)

var dockerReleaseOfAPI = map[string]string{
	apiBindOptionsRRO: "25.0",
	apiImageMounts:    "28.0",
}

// ociFeaturesKey is the runtime status entry in `docker info` that holds
// the OCI runtime's features document (`runc features`).
const ociFeaturesKey = "org.opencontainers.runtime-spec.features"

// engineFeatures is what the engine at hand can carry, read once from
// `docker version` and `docker info`.
type engineFeatures struct {
	version string // Docker's version, "20.10.24+dfsg1"
	api     string // the API version this client speaks with it (negotiated)
	kernel  string
	// runtimes are Docker's configured OCI runtimes by name; defaultRuntime
	// names the one a container without a runtime gets.
	runtimes       map[string]runtimeFacts
	defaultRuntime string
	// cdi: the daemon resolves CDI devices (it lists CDI spec directories).
	cdi bool
	// snapshotter is the containerd snapshotter that holds images when
	// Docker runs its containerd image store, "" with a graph driver.
	snapshotter string
	// storageDriver is the graph driver or the snapshotter ("overlay2",
	// "overlayfs").
	storageDriver string
}

// runtimeFacts is one runtime of `docker info`.
type runtimeFacts struct {
	path string
	// mountOptions are what its features document lists (nil: no document).
	mountOptions []string
}

func newEngineFeatures(version, api string, info *system.Info) engineFeatures {
	f := engineFeatures{
		version:        version,
		api:            api,
		kernel:         info.KernelVersion,
		runtimes:       map[string]runtimeFacts{},
		defaultRuntime: info.DefaultRuntime,
		cdi:            len(info.CDISpecDirs) > 0 && apiAtLeast(api, apiBindOptionsRRO),
		storageDriver:  info.Driver,
		snapshotter:    engine.Snapshotter(info),
	}
	for name, rt := range info.Runtimes {
		rf := runtimeFacts{path: rt.Path}
		if doc := rt.Status[ociFeaturesKey]; doc != "" {
			var ft features.Features
			if err := json.Unmarshal([]byte(doc), &ft); err == nil {
				rf.mountOptions = ft.MountOptions
				if rf.mountOptions == nil {
					rf.mountOptions = []string{}
				}
			}
		}
		f.runtimes[name] = rf
	}
	return f
}

// handlerNames are the CRI runtime handlers: "" (Docker's default runtime)
// and every runtime Docker has configured, sorted.
func (f engineFeatures) handlerNames() []string {
	names := []string{""}
	for n := range f.runtimes {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return names
}

// runtimeOf is the Docker runtime a CRI handler runs: "" and "runc" are
// Docker's default.
func (f engineFeatures) runtimeOf(handler string) string {
	if handler == "" || handler == "runc" {
		return f.defaultRuntime
	}
	return handler
}

// knowsHandler reports whether Docker has a runtime for handler. Docker
// names runc "runc" on every version; the kubelet's default handler is "".
func (f engineFeatures) knowsHandler(handler string) bool {
	if handler == "" || handler == "runc" {
		return true
	}
	_, ok := f.runtimes[handler]
	return ok
}

// recursiveReadOnly reports whether a mount under handler can be made
// recursively read-only: the API has the bind option, the runtime lists
// "rro" among its mount options and the kernel has mount_setattr (5.12).
func (f engineFeatures) recursiveReadOnly(handler string) bool {
	if !apiAtLeast(f.api, apiBindOptionsRRO) || !kernelAtLeast(f.kernel, 5, 12) {
		return false
	}
	rt, ok := f.runtimes[f.runtimeOf(handler)]
	return ok && slices.Contains(rt.mountOptions, "rro")
}

// imageMounts reports whether Docker mounts images (type image, API 1.48).
func (f engineFeatures) imageMounts() bool { return apiAtLeast(f.api, apiImageMounts) }

// needs is the error text for a feature the engine lacks: which Docker
// version carries it and what this one speaks.
func (f engineFeatures) needs(what, api string) string {
	return fmt.Sprintf("%s need Docker Engine %s or later (API %s); this engine is Docker %s speaking API %s",
		what, dockerReleaseOfAPI[api], api, f.version, f.api)
}

// apiAtLeast compares Docker API versions ("1.41" < "1.44").
func apiAtLeast(have, want string) bool {
	hm, hn, ok1 := majorMinor(have)
	wm, wn, ok2 := majorMinor(want)
	if !ok1 || !ok2 {
		return false
	}
	return hm > wm || hm == wm && hn >= wn
}

func majorMinor(v string) (int, int, bool) {
	a, b, _ := strings.Cut(v, ".")
	maj, err1 := strconv.Atoi(a)
	b, _, _ = strings.Cut(b, ".")
	minor, err2 := strconv.Atoi(strings.TrimLeft(b, "v"))
	return maj, minor, err1 == nil && err2 == nil
}

// kernelAtLeast compares a kernel release ("6.1.0-18-amd64") with maj.minor.
func kernelAtLeast(release string, maj, minor int) bool {
	end := strings.IndexFunc(release, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end >= 0 {
		release = release[:end]
	}
	m, n, ok := majorMinor(release)
	return ok && (m > maj || m == maj && n >= minor)
}
