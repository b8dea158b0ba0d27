package privdockerd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Environment that picks the engine of private daemons (and, through
// test/engine/run.sh, of the daemon every suite runs against).
const (
	// EngineEnv selects the Docker Engine: "" or "20.10" is the machine's
	// own (Debian's docker.io), "29" the current engine built from the Go
	// module proxy by test/engine/build-engine.sh.
	EngineEnv = "DOCKERLET_ENGINE"
	// EngineDirEnv names the directory of a built engine (what
	// build-engine.sh prints); unset, the script is run to find it.
	EngineDirEnv = "DOCKERLET_ENGINE_DIR"
	// ImageStoreEnv selects the image store of a Docker 29 daemon:
	// "graphdriver" (default: overlay2 layers in Docker's data root) or
	// "containerd" (images in containerd's content store and snapshotter,
	// the default of fresh Docker 29 installs).
	ImageStoreEnv = "DOCKERLET_IMAGE_STORE"
)

// Engine names.
const (
	EngineSystem = "20.10"
	Engine29     = "29"
)

// Image store names.
const (
	StoreGraphDriver = "graphdriver"
	StoreContainerd  = "containerd"
)

// engineOf resolves Options.Engine and Options.ImageStore against the
// environment and checks them.
func engineOf(opts Options) (eng, store string, err error) {
	eng, store = opts.Engine, opts.ImageStore
	if eng == "" {
		eng = os.Getenv(EngineEnv)
	}
	if store == "" {
		store = os.Getenv(ImageStoreEnv)
	}
	switch eng {
	case "", "system", EngineSystem:
		eng = EngineSystem
	case Engine29:
	default:
		return "", "", fmt.Errorf("privdockerd: engine %q: want %s or %s", eng, EngineSystem, Engine29)
	}
	switch store {
	case "", StoreGraphDriver:
		store = StoreGraphDriver
	case StoreContainerd:
		if eng == EngineSystem {
			return "", "", fmt.Errorf("privdockerd: the containerd image store needs Docker 29 (%s=29), not the system's 20.10", EngineEnv)
		}
	default:
		return "", "", fmt.Errorf("privdockerd: image store %q: want %s or %s", store, StoreGraphDriver, StoreContainerd)
	}
	return eng, store, nil
}

var (
	engineDirOnce sync.Once
	engineDir     string
	engineDirErr  error
)

// EngineDir is the directory of the built Docker 29 engine (dockerd,
// docker-proxy, containerd, containerd-shim-runc-v2): DOCKERLET_ENGINE_DIR,
// or what test/engine/build-engine.sh prints (it builds the first time,
// ~10-20 minutes, then answers from its cache at once).
func EngineDir() (string, error) {
	engineDirOnce.Do(func() {
		if d := os.Getenv(EngineDirEnv); d != "" {
			engineDir = d
			return
		}
		script, err := findBuildScript()
		if err != nil {
			engineDirErr = err
			return
		}
		cmd := exec.Command(script)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			engineDirErr = fmt.Errorf("privdockerd: %s: %w", script, err)
			return
		}
		engineDir = strings.TrimSpace(string(out))
	})
	if engineDirErr != nil {
		return "", engineDirErr
	}
	if _, err := os.Stat(filepath.Join(engineDir, "dockerd")); err != nil {
		return "", fmt.Errorf("privdockerd: no dockerd in %s: %w", engineDir, err)
	}
	return engineDir, nil
}

// findBuildScript looks for test/engine/build-engine.sh above the working
// directory (tests run in their package's directory), then beside this
// source file.
func findBuildScript() (string, error) {
	const rel = "test/engine/build-engine.sh"
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			p := filepath.Join(d, rel)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("privdockerd: " + rel + " not found above the working directory (set " + EngineDirEnv + ")")
}

// daemonConfig is the daemon.json of a private daemon: the image store is
// chosen explicitly, since Docker 29's default depends on whether the data
// root is new.
func daemonConfig(eng, store string) string {
	if eng == EngineSystem {
		return "{}\n"
	}
	return fmt.Sprintf("{\"features\": {\"containerd-snapshotter\": %v}}\n", store == StoreContainerd)
}
