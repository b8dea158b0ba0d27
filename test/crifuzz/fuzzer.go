// Package crifuzz sends well-typed but malformed CRI requests of every
// RuntimeService and ImageService method to a running server, mixed with
// valid ones that make and remove real sandboxes and containers. Requests
// are valid templates for the fuzzer's current state, mutated through
// protobuf reflection (nil and empty sub-messages, empty, huge, non-UTF-8
// and NUL-carrying strings, foreign and random ids, negative and absurd
// numbers, undefined enums, lists and maps of thousands). It records every
// answer's code and fails on a crash, a hang or an Unknown code.
package crifuzz

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Target is the server under test.
type Target struct {
	Runtime runtimeapi.RuntimeServiceClient
	Image   runtimeapi.ImageServiceClient
	// Alive reports whether the server process still runs.
	Alive func() bool
	// Restart brings a crashed server back, so that the run goes on.
	Restart func() error
}

// Config of one run.
type Config struct {
	Seed     int64
	Requests int
	// CallTimeout is the hang threshold (10 s).
	CallTimeout time.Duration
	// SlowThreshold: calls that take longer are listed in the report
	// (default 5 s), to see where time goes before it becomes a hang.
	SlowThreshold time.Duration
	// Prefix names the pods (and their label "fuzz").
	Prefix string
	// WorkDir is where pod log directories and host paths go.
	WorkDir string
	// RegistryHost is the only registry PullImage may name.
	RegistryHost            string
	BusyboxImage, BusyboxID string
	PauseImage, SpareImage  string
	ForeignID, ForeignName  string
	MaxSandboxes            int // live at once (default 4)
	Progress                func(done int, r *Report)
}

// Failure is a crash, a hang or an Unknown answer.
type Failure struct {
	Kind    string // "crash", "hang", "unknown"
	RPC     string
	Request string
	Err     string
}

// SlowCall is a call that took longer than Config.SlowThreshold.
type SlowCall struct {
	RPC     string
	Took    time.Duration
	Code    string
	Request string
}

// Report counts the answers of a run.
type Report struct {
	Seed              int64
	Requests, Mutated int
	ByCode            map[string]int
	ByRPC             map[string]map[string]int
	Failures          []Failure
	InternalSamples   []Failure
	Slow              []SlowCall
	SandboxesCreated  int
	ContainersCreated int
	ContainersStarted int
	Duration          time.Duration
}

// Fuzzer holds one run's state.
type Fuzzer struct {
	target Target
	cfg    Config
	rnd    *rand.Rand
	mu     *mutator
	table  []rpc
	byName map[string]rpc
	report *Report
	n      int

	live, dead []string // sandbox ids
	ctrs       []string // container ids (some may be gone)
}

// New prepares a run.
func New(target Target, cfg Config) *Fuzzer {
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.SlowThreshold == 0 {
		cfg.SlowThreshold = 5 * time.Second
	}
	if cfg.MaxSandboxes == 0 {
		cfg.MaxSandboxes = 4
	}
	f := &Fuzzer{target: target, cfg: cfg, rnd: rand.New(rand.NewSource(cfg.Seed))}
	f.mu = &mutator{rnd: f.rnd, strings: f.stringFor}
	f.table = f.rpcs()
	f.byName = map[string]rpc{}
	for _, r := range f.table {
		f.byName[r.name] = r
	}
	f.report = &Report{Seed: cfg.Seed, ByCode: map[string]int{}, ByRPC: map[string]map[string]int{}}
	return f
}

// RPCNames lists the methods the fuzzer covers.
func (f *Fuzzer) RPCNames() []string {
	out := make([]string, 0, len(f.table))
	for _, r := range f.table {
		out = append(out, r.name)
	}
	return out
}

// Run sends cfg.Requests requests, then removes every pod it knows of.
func (f *Fuzzer) Run(ctx context.Context) *Report {
	start := time.Now()
	for f.report.Requests < f.cfg.Requests && ctx.Err() == nil {
		if f.report.Requests%30 == 0 {
			f.lifecycleStep(ctx)
		}
		r := f.table[f.rnd.Intn(len(f.table))]
		req := r.valid(f)
		// Valid requests of the slow RPCs (a second each on Docker) are
		// rarer: lifecycleStep makes enough real pods.
		mutated := f.rnd.Intn(10) < 7
		if slow[r.name] {
			mutated = f.rnd.Intn(10) < 9
		}
		if mutated {
			f.mu.mutate(req.ProtoReflect())
			f.keepPullsLocal(req)
		}
		f.send(ctx, r, req, mutated)
		if f.cfg.Progress != nil && f.report.Requests%1000 == 0 {
			f.cfg.Progress(f.report.Requests, f.report)
		}
	}
	f.Cleanup(ctx)
	f.report.Duration = time.Since(start)
	return f.report
}

// slow are the RPCs whose valid requests make Docker work for a while.
var slow = map[string]bool{
	"RunPodSandbox": true, "StopPodSandbox": true, "RemovePodSandbox": true, "CreateContainer": true,
	"StartContainer": true, "StopContainer": true, "RemoveContainer": true, "PullImage": true,
	"RemoveImage": true, "ExecSync": true, "UpdateContainerResources": true,
}

// send makes one call and books its answer.
func (f *Fuzzer) send(ctx context.Context, r rpc, req proto.Message, mutated bool) (proto.Message, error) {
	cctx, cancel := context.WithTimeout(ctx, f.cfg.CallTimeout)
	began := time.Now()
	resp, err := r.call(cctx, f, req)
	took := time.Since(began)
	hung := cctx.Err() == context.DeadlineExceeded
	cancel()
	if took > f.cfg.SlowThreshold && len(f.report.Slow) < 100 {
		f.report.Slow = append(f.report.Slow, SlowCall{RPC: r.name, Took: took, Code: status.Code(err).String(), Request: describe(req)})
	}
	f.report.Requests++
	if mutated {
		f.report.Mutated++
	}
	code := status.Code(err)
	name := code.String()
	if f.report.ByRPC[r.name] == nil {
		f.report.ByRPC[r.name] = map[string]int{}
	}
	switch {
	case !f.target.Alive():
		name = "CRASH"
		f.fail("crash", r.name, req, err)
		if f.target.Restart != nil {
			if rerr := f.target.Restart(); rerr != nil {
				f.fail("crash", "restart", req, rerr)
			}
		}
	case hung && code == codes.DeadlineExceeded:
		name = "HANG"
		f.fail("hang", r.name, req, err)
	case code == codes.Unknown:
		f.fail("unknown", r.name, req, err)
	case code == codes.Internal && len(f.report.InternalSamples) < 20:
		f.report.InternalSamples = append(f.report.InternalSamples, Failure{Kind: "internal", RPC: r.name, Request: describe(req), Err: err.Error()})
	}
	f.report.ByCode[name]++
	f.report.ByRPC[r.name][name]++
	if err == nil {
		f.track(r.name, req, resp)
	}
	return resp, err
}

func (f *Fuzzer) fail(kind, rpcName string, req proto.Message, err error) {
	msg := "<nil>"
	if err != nil {
		msg = err.Error()
	}
	f.report.Failures = append(f.report.Failures, Failure{Kind: kind, RPC: rpcName, Request: describe(req), Err: msg})
}

func describe(req proto.Message) string {
	s := prototext.MarshalOptions{}.Format(req)
	if len(s) > 1500 {
		s = s[:1500] + "…"
	}
	return s
}

// track follows what successful calls made and removed.
func (f *Fuzzer) track(name string, req, resp proto.Message) {
	switch name {
	case "RunPodSandbox":
		f.live = append(f.live, resp.(*runtimeapi.RunPodSandboxResponse).PodSandboxId)
		f.report.SandboxesCreated++
	case "CreateContainer":
		f.ctrs = append(f.ctrs, resp.(*runtimeapi.CreateContainerResponse).ContainerId)
		if len(f.ctrs) > 64 {
			f.ctrs = f.ctrs[1:]
		}
		f.report.ContainersCreated++
	case "StartContainer":
		f.report.ContainersStarted++
	case "RemovePodSandbox":
		id := req.(*runtimeapi.RemovePodSandboxRequest).PodSandboxId
		var match []int
		for i, l := range f.live {
			if strings.HasPrefix(l, id) {
				match = append(match, i)
			}
		}
		if len(match) == 1 {
			f.dead = append(f.dead, f.live[match[0]])
			f.live = append(f.live[:match[0]], f.live[match[0]+1:]...)
		}
	}
}

// lifecycleStep keeps real pods coming and going with valid requests.
func (f *Fuzzer) lifecycleStep(ctx context.Context) {
	if len(f.live) > f.cfg.MaxSandboxes {
		f.send(ctx, f.byName["RemovePodSandbox"], &runtimeapi.RemovePodSandboxRequest{PodSandboxId: f.live[0]}, false)
		return
	}
	switch f.rnd.Intn(4) {
	case 0:
		f.send(ctx, f.byName["RunPodSandbox"], &runtimeapi.RunPodSandboxRequest{Config: f.sandboxConfig()}, false)
	case 1, 2:
		if len(f.live) == 0 {
			return
		}
		sb := f.live[f.rnd.Intn(len(f.live))]
		resp, err := f.send(ctx, f.byName["CreateContainer"], &runtimeapi.CreateContainerRequest{
			PodSandboxId: sb, Config: f.containerConfig(), SandboxConfig: f.sandboxConfig(),
		}, false)
		if status.Code(err) == codes.NotFound {
			// The image went (RemoveImage of a fuzzed name can hit it).
			f.send(ctx, f.byName["PullImage"], &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: f.cfg.BusyboxImage}}, false)
		}
		if err == nil {
			id := resp.(*runtimeapi.CreateContainerResponse).ContainerId
			f.send(ctx, f.byName["StartContainer"], &runtimeapi.StartContainerRequest{ContainerId: id}, false)
		}
	case 3:
		if len(f.live) > 0 {
			f.send(ctx, f.byName["RemovePodSandbox"], &runtimeapi.RemovePodSandboxRequest{PodSandboxId: f.live[f.rnd.Intn(len(f.live))]}, false)
		}
	}
}

// Cleanup removes every sandbox the fuzzer knows of.
func (f *Fuzzer) Cleanup(ctx context.Context) {
	for _, id := range append([]string(nil), f.live...) {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, _ = f.target.Runtime.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
		cancel()
	}
	f.dead = append(f.dead, f.live...)
	f.live = nil
}

// keepPullsLocal makes sure a mutated PullImage never names a registry
// other than the test's own (this machine has no internet, and must not
// try): such a reference is replaced by one that cannot parse.
func (f *Fuzzer) keepPullsLocal(req proto.Message) {
	p, ok := req.(*runtimeapi.PullImageRequest)
	if !ok || p.Image == nil {
		return
	}
	img := p.Image.Image
	if img == "" || strings.HasPrefix(img, f.cfg.RegistryHost+"/") {
		return
	}
	p.Image.Image = "INVALID//" + strings.ToUpper(randomText(f.rnd, 10))
}

// sandboxConfig is a valid config for a new pod.
func (f *Fuzzer) sandboxConfig() *runtimeapi.PodSandboxConfig {
	f.n++
	name := fmt.Sprintf("%s-p%d", f.cfg.Prefix, f.n)
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: f.cfg.Prefix + "-ns", Uid: name + "-uid"},
		Hostname:     name,
		LogDirectory: fmt.Sprintf("%s/logs/%s", f.cfg.WorkDir, name),
		Labels:       map[string]string{"fuzz": f.cfg.Prefix},
		Annotations:  map[string]string{"fuzz": "yes"},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
}

// containerConfig is a valid config whose process stops at once on TERM.
func (f *Fuzzer) containerConfig() *runtimeapi.ContainerConfig {
	f.n++
	name := fmt.Sprintf("c%d", f.n)
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: f.cfg.BusyboxImage},
		Command:  []string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"},
		LogPath:  name + ".log",
		Labels:   map[string]string{"fuzz": f.cfg.Prefix},
	}
}

// sandboxRef picks a sandbox id: mostly a live one, else a prefix, a
// removed one, the foreign container's, or noise. Never a short random hex
// prefix: the engine is shared, and one could name another test's pod.
func (f *Fuzzer) sandboxRef() string { return f.ref(f.live) }

func (f *Fuzzer) containerRef() string { return f.ref(f.ctrs) }

func (f *Fuzzer) ref(pool []string) string {
	switch k := f.rnd.Intn(10); {
	case k < 6 && len(pool) > 0:
		return pool[f.rnd.Intn(len(pool))]
	case k < 7 && len(pool) > 0:
		id := pool[f.rnd.Intn(len(pool))]
		return id[:12+f.rnd.Intn(len(id)-12)]
	case k < 8 && len(f.dead) > 0:
		return f.dead[f.rnd.Intn(len(f.dead))]
	case k < 9:
		return []string{f.cfg.ForeignID, f.cfg.ForeignID[:12], f.cfg.ForeignName, "/" + f.cfg.ForeignName}[f.rnd.Intn(4)]
	}
	return randomHex(f.rnd, 64)
}

func (f *Fuzzer) imageRef() string {
	return []string{f.cfg.BusyboxImage, f.cfg.BusyboxID, f.cfg.PauseImage, f.cfg.SpareImage, "busybox", f.cfg.RegistryHost + "/nope/none:1"}[f.rnd.Intn(6)]
}

// stringFor draws a string for a mutated field.
func (f *Fuzzer) stringFor(fd protoreflect.FieldDescriptor, small bool) string {
	r := f.rnd
	name := string(fd.Name())
	if name == "image" || name == "user_specified_image" {
		return []string{"", BadUTF8, f.cfg.SpareImage, f.cfg.RegistryHost + "/" + randomText(r, 20), "sha256:" + randomHex(r, 64),
			"UPPER/Case::tag", strings.Repeat("a/", 3000), f.cfg.RegistryHost + "/nope@sha256:" + randomHex(r, 64)}[r.Intn(8)]
	}
	if name == "cgroup_parent" {
		// Only values that must be refused: a valid one would leave a
		// cgroup behind on the shared host.
		return []string{"../../escape", "/a/../../b", "/" + strings.Repeat("c", 5000), BadUTF8, "a\x00b"}[r.Intn(5)]
	}
	if small {
		return []string{"", BadUTF8, "a\x00b", randomText(r, 30), "/tmp/dltrob/fz/" + randomText(r, 8), "../x", f.cfg.ForeignName}[r.Intn(7)]
	}
	pool := []func() string{
		func() string { return "" },
		func() string { return BadUTF8 },
		func() string { return "a\x00b" },
		func() string { return strings.Repeat("h", 64<<10) },
		func() string { return strings.Repeat("H", 1<<20+1) },
		func() string { return "../../../../etc/passwd" },
		func() string { return "/" + strings.Repeat("p", 5000) },
		func() string { return "UPPER_Case!@#$" },
		func() string { return randomText(r, 40) },
		func() string { return f.cfg.ForeignID },
		func() string { return f.cfg.ForeignID[:12] },
		func() string { return f.cfg.ForeignName },
		func() string { return randomHex(r, 64) },
		func() string { return f.cfg.WorkDir + "/paths/" + randomText(r, 12) },
		func() string { return "relative/path" },
		func() string { return "-1" },
		func() string {
			if len(f.live) > 0 {
				return f.live[r.Intn(len(f.live))]
			}
			return "zz-not-an-id"
		},
	}
	return pool[r.Intn(len(pool))]()
}
