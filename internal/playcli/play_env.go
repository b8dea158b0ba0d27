package playcli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/pflag"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/open"
	"github.com/dockerlet/dockerlet/internal/network"
	"github.com/dockerlet/dockerlet/internal/node"
	"github.com/dockerlet/dockerlet/internal/pod"
	"github.com/dockerlet/dockerlet/internal/pod/localimage"
	"github.com/dockerlet/dockerlet/internal/streaming"
)

// DefaultPlayStateDir holds what `dockerlet play` created.
const DefaultPlayStateDir = "/var/lib/dockerlet/play"

// playFlags configure the in-process CRI service the play commands drive;
// they are named as `serve`'s.
type playFlags struct {
	stateDir       string
	dockerEndpoint string
	rootDir        string
	podInfraImage  string
	networkPlugin  string
	cniBinDir      string
	cniConfDir     string
	cniCacheDir    string
	requestTimeout time.Duration
	pullDeadline   time.Duration
	logLevel       string

	// streaming wires a streaming server (exec -i/-t); not a flag.
	streaming bool
}

// addPlayFlags registers the shared flags on fs.
func addPlayFlags(fs *pflag.FlagSet) *playFlags {
	f := &playFlags{}
	fs.StringVar(&f.stateDir, "state-dir", envOr("DOCKERLET_PLAY_STATE_DIR", DefaultPlayStateDir), "play state: which manifest created which pods, pod logs and volumes ($DOCKERLET_PLAY_STATE_DIR)")
	fs.StringVar(&f.dockerEndpoint, "docker-endpoint", "", "Docker endpoint (default: DOCKER_HOST or unix:///var/run/docker.sock)")
	fs.StringVar(&f.rootDir, "root-directory", "", "CRI sandbox checkpoints (default: <state-dir>/cri)")
	fs.StringVar(&f.podInfraImage, "pod-infra-container-image", localimage.Pause, "image of the sandbox (pause) containers; dockerlet.local/pause is built locally")
	fs.StringVar(&f.networkPlugin, "network-plugin", "", `pod network: "" or "docker" (Docker's bridge) or "cni"`)
	fs.StringVar(&f.cniBinDir, "cni-bin-dir", "", "CNI plugin directories, comma-separated")
	fs.StringVar(&f.cniConfDir, "cni-conf-dir", "", "CNI configuration directory")
	fs.StringVar(&f.cniCacheDir, "cni-cache-dir", "", "CNI cache directory")
	fs.DurationVar(&f.requestTimeout, "runtime-request-timeout", 2*time.Minute, "timeout of every engine request except pulls, logs and exec")
	fs.DurationVar(&f.pullDeadline, "image-pull-progress-deadline", time.Minute, "cancel a pull that makes no progress for this long")
	fs.StringVar(&f.logLevel, "log-level", "warn", "debug, info, warn or error")
	return f
}

// args renders the flags back, for the background supervisor's command line.
func (f *playFlags) args() []string {
	a := []string{"--state-dir", f.stateDir, "--pod-infra-container-image", f.podInfraImage,
		"--runtime-request-timeout", f.requestTimeout.String(), "--image-pull-progress-deadline", f.pullDeadline.String(),
		"--log-level", f.logLevel}
	for k, v := range map[string]string{"--docker-endpoint": f.dockerEndpoint, "--root-directory": f.rootDir,
		"--network-plugin": f.networkPlugin, "--cni-bin-dir": f.cniBinDir, "--cni-conf-dir": f.cniConfDir, "--cni-cache-dir": f.cniCacheDir} {
		if v != "" {
			a = append(a, k, v)
		}
	}
	return a
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// playEnv is the in-process CRI service and what the pod runner needs
// around it.
type playEnv struct {
	// svc is the CRI service behind the gRPC server's gate (validation,
	// panic recovery, error codes), as serve's clients see it.
	svc    *cri.InProcess
	node   *node.Node
	store  pod.Store
	cfg    pod.Config
	logger *slog.Logger
	closes []func()
}

func (e *playEnv) Close() {
	for i := len(e.closes) - 1; i >= 0; i-- {
		e.closes[i]()
	}
}

// openPlayEnv builds the same CRI service `dockerlet serve` exposes, in
// process, plus the local image builder and the credential keyring.
func openPlayEnv(ctx context.Context, f *playFlags) (_ *playEnv, retErr error) {
	logger, err := cli.NewLogger(f.logLevel, "text")
	if err != nil {
		return nil, err
	}
	if f.rootDir == "" {
		f.rootDir = f.stateDir + "/cri"
	}
	env := &playEnv{store: pod.Store{Dir: f.stateDir}, logger: logger}
	if err := env.store.Prepare(); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	defer func() {
		if retErr != nil {
			env.Close()
		}
	}()
	eng, closeEngine, err := open.Engine(f.dockerEndpoint, engine.Options{
		RequestTimeout: f.requestTimeout, PullProgressDeadline: f.pullDeadline, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("docker endpoint: %w", err)
	}
	env.closes = append(env.closes, func() { _ = closeEngine() })
	// Pull progress goes to the state dir, for play's bars wherever it runs.
	eng = progressEngine{Engine: eng, tracker: pod.NewPullTracker(env.store)}

	images, err := newLocalImages(f.dockerEndpoint, eng)
	if err != nil {
		return nil, err
	}
	env.closes = append(env.closes, func() { _ = images.Loader.(*localimage.DockerLoader).Close() })
	if localimage.Is(f.podInfraImage) {
		if _, err := images.Ensure(ctx, f.podInfraImage); err != nil {
			return nil, fmt.Errorf("sandbox image: %w", err)
		}
	}

	// Wired as `serve` wires it, so that both front ends behave the same.
	// The CRI falls back to the node's credentials; the pod runner tries
	// the pod's pull secrets first and passes them in PullImage.
	opts := node.Options{
		Engine: eng, Logger: logger, Version: version, RootDir: f.rootDir, PodInfraImage: f.podInfraImage,
		Network: network.Config{Plugin: f.networkPlugin, CNIBinDirs: cli.SplitList(f.cniBinDir), CNIConfDir: f.cniConfDir, CNICacheDir: f.cniCacheDir},
	}
	if f.streaming {
		opts.Streaming = &streaming.Config{}
	}
	n, err := node.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	env.closes = append(env.closes, n.Close)
	env.node, env.svc = n, n.InProcess()
	env.cfg = pod.Config{
		Runtime:     env.svc,
		StateDir:    f.stateDir,
		Logger:      logger,
		Credentials: pod.KeyringCredentials{Node: n.Keyring, Logger: logger},
		LocalImages: images,
	}
	return env, nil
}

func newLocalImages(endpoint string, eng engine.Engine) (*localimage.Builder, error) {
	loader, err := localimage.NewDockerLoader(endpoint)
	if err != nil {
		return nil, err
	}
	return &localimage.Builder{
		Loader: loader,
		Present: func(ctx context.Context, ref string) (bool, error) {
			_, err := eng.InspectImageByRef(ctx, ref)
			if errdefs.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		},
	}, nil
}

// takeOver is what the process that supervises the state directory does
// before it runs pods, as serve does before it serves: Reconcile rolls back
// what a crash of an earlier supervisor left half made (sandboxes whose
// RunPodSandbox never completed, containers without a sandbox, orphan
// checkpoints and network state), then the log copiers resume in the
// background. Both touch only this state directory's objects (the CRI
// root-dir label), never a serve's or another play's.
func (e *playEnv) takeOver(ctx context.Context) {
	e.node.Service.Reconcile(ctx)
	go e.node.Service.Resume(ctx)
}
