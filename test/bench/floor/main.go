// Command floor measures the floor of pod start-up on this machine: the
// same two containers dockerlet makes for a pod (pause + one workload
// container joined to its namespaces) created and started through the
// Docker API directly, plus — in CNI mode — the CNI ADD of the same network
// configuration invoked directly through libcni (the conflist, and the
// loopback plugin for lo as every CRI runtime runs it), with no pinning or
// checkpointing. `make bench` runs it next to cribench so
// that dockerlet's start-up is compared as a ratio within one run.
//
// With -parallel P it is the floor of a burst instead: the n pods started
// at once by P workers, and the time until the last one runs.
//
//	floor -n 30 -pause localhost:5000/pause:3.10 -image localhost:5000/e2e-test-images/busybox:1.29-2 \
//	      [-parallel 5] [-cni-conf-dir DIR -cni-bin-dir DIR -cni-cache-dir DIR]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/test/bench/result"
)

func main() {
	n := flag.Int("n", 30, "pods to start")
	pause := flag.String("pause", "localhost:5000/pause:3.10", "sandbox image (present in Docker)")
	img := flag.String("image", "localhost:5000/e2e-test-images/busybox:1.29-2", "workload image (present in Docker)")
	cniConf := flag.String("cni-conf-dir", "", "CNI mode: run the CNI ADD of the (one) conflist in this directory")
	cniBin := flag.String("cni-bin-dir", "/opt/cni/bin,/usr/lib/cni", "CNI plugin directories, comma-separated")
	cniCache := flag.String("cni-cache-dir", "", "libcni result cache (default: a temporary directory)")
	jsonOut := flag.String("json", "", "also write the samples as JSON")
	parallel := flag.Int("parallel", 0, "a burst: start the n pods with this many workers at once (0: one after another)")
	flag.Parse()
	var net *cniNet
	if *cniConf != "" {
		var err error
		if net, err = loadCNI(*cniConf, strings.Split(*cniBin, ","), *cniCache); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
	}
	run := run
	if *parallel > 0 {
		run = func(n int, pause, img string, net *cniNet, out string) error {
			return burst(n, *parallel, pause, img, net, out)
		}
	}
	if err := run(*n, *pause, *img, net, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// cniNet is the network configuration and libcni, used as a runtime would
// at the least.
type cniNet struct {
	cni      *libcni.CNIConfig
	list     *libcni.NetworkConfigList
	loopback *libcni.PluginConfig
}

func loadCNI(confDir string, binDirs []string, cacheDir string) (*cniNet, error) {
	files, err := filepath.Glob(filepath.Join(confDir, "*.conflist"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no .conflist in %s", confDir)
	}
	sort.Strings(files)
	list, err := libcni.ConfListFromFile(files[0])
	if err != nil {
		return nil, err
	}
	lo, err := libcni.NetworkPluginConfFromBytes([]byte(`{"cniVersion":"0.3.1","name":"floor-loopback","type":"loopback"}`))
	if err != nil {
		return nil, err
	}
	if cacheDir == "" {
		if cacheDir, err = os.MkdirTemp("", "floor-cni-cache"); err != nil {
			return nil, err
		}
	}
	return &cniNet{cni: libcni.NewCNIConfigWithCacheDir(binDirs, cacheDir, nil), list: list, loopback: lo}, nil
}

func (c *cniNet) rt(id, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "eth0"}
}

func (c *cniNet) loRT(id, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "lo"}
}

func run(n int, pause, img string, plugin *cniNet, jsonOut string) error {
	ctx := context.Background()
	eng, err := engine.Connect("", engine.Options{RequestTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer eng.Close()
	samples := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		d, cleanup, err := startPod(ctx, eng, plugin, pause, img, i)
		cleanup()
		if err != nil {
			return err
		}
		samples = append(samples, d)
	}
	sorted := append([]time.Duration(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	mode := "docker"
	if plugin != nil {
		mode = "cni"
	}
	fmt.Printf("floor (%s mode): pause+container created and started via the Docker API: n=%d median=%.2fms p90=%.2fms min=%.2fms\n",
		mode, n, ms(sorted[len(sorted)/2]), ms(sorted[len(sorted)*9/10]), ms(sorted[0]))
	if jsonOut != "" {
		out := result.Floor{Mode: mode, N: n, MedianMS: ms(sorted[len(sorted)/2]), SamplesMS: msAll(samples)}
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(jsonOut, b, 0o644)
	}
	return nil
}

// burst starts n pods with `parallel` workers at once and reports the time
// until the last one runs; the pods are removed afterwards, untimed.
func burst(n, parallel int, pause, img string, plugin *cniNet, jsonOut string) error {
	ctx := context.Background()
	eng, err := engine.Connect("", engine.Options{RequestTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer eng.Close()
	idx := make(chan int, n)
	for i := range n {
		idx <- i
	}
	close(idx)
	var (
		mu       sync.Mutex
		cleanups []func()
		samples  []time.Duration
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range parallel {
		wg.Go(func() {
			for i := range idx {
				d, cleanup, err := startPod(ctx, eng, plugin, pause, img, i)
				mu.Lock()
				cleanups = append(cleanups, cleanup)
				samples = append(samples, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	all := time.Since(start)
	q := make(chan func(), len(cleanups))
	for _, c := range cleanups {
		q <- c
	}
	close(q)
	for range parallel {
		wg.Go(func() {
			for c := range q {
				c()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	mode := "docker"
	if plugin != nil {
		mode = "cni"
	}
	fmt.Printf("floor burst (%s mode): %d pods, %d at a time, via the Docker API: all running after %.0fms\n", mode, n, parallel, ms(all))
	if jsonOut != "" {
		sorted := slices.Sorted(slices.Values(samples))
		out := result.Floor{Mode: mode, N: n, Parallel: parallel, AllRunningMS: ms(all), MedianMS: ms(sorted[len(sorted)/2]), SamplesMS: msAll(samples)}
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(jsonOut, b, 0o644)
	}
	return nil
}

// startPod times what RunPodSandbox + CreateContainer + StartContainer must
// do at the least, and returns a cleanup that is not timed.
func startPod(ctx context.Context, eng *engine.Client, plugin *cniNet, pause, img string, i int) (time.Duration, func(), error) {
	var ids []string
	sbID, netns := "", ""
	cleanup := func() {
		if plugin != nil && sbID != "" {
			_ = plugin.cni.DelNetworkList(ctx, plugin.list, plugin.rt(sbID, netns))
			_ = plugin.cni.DelNetwork(ctx, plugin.loopback, plugin.loRT(sbID, netns))
		}
		for j := len(ids) - 1; j >= 0; j-- {
			_ = eng.RemoveContainer(ctx, ids[j], engine.RemoveOptions{Force: true})
		}
	}
	start := time.Now()
	netMode := container.NetworkMode("bridge")
	if plugin != nil {
		netMode = "none"
	}
	labels := map[string]string{"io.dockerlet.floor": "true"}
	sb, err := eng.CreateContainer(ctx, engine.CreateSpec{
		Name:       fmt.Sprintf("dockerlet-floor-%d-pod-%d", os.Getpid(), i),
		Config:     &container.Config{Image: pause, Labels: labels},
		HostConfig: &container.HostConfig{IpcMode: "shareable", NetworkMode: netMode},
	})
	if err != nil {
		return 0, cleanup, err
	}
	ids = append(ids, sb)
	if err := eng.StartContainer(ctx, sb); err != nil {
		return 0, cleanup, err
	}
	if plugin != nil {
		c, err := eng.InspectContainer(ctx, sb)
		if err != nil {
			return 0, cleanup, err
		}
		sbID, netns = sb, fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
		if _, err := plugin.cni.AddNetwork(ctx, plugin.loopback, plugin.loRT(sb, netns)); err != nil {
			return 0, cleanup, fmt.Errorf("cni add loopback: %w", err)
		}
		if _, err := plugin.cni.AddNetworkList(ctx, plugin.list, plugin.rt(sb, netns)); err != nil {
			return 0, cleanup, fmt.Errorf("cni add: %w", err)
		}
	}
	ctr, err := eng.CreateContainer(ctx, engine.CreateSpec{
		Name:   fmt.Sprintf("dockerlet-floor-%d-ctr-%d", os.Getpid(), i),
		Config: &container.Config{Image: img, Cmd: []string{"sleep", "3600"}, Labels: labels},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + sb),
			IpcMode:     container.IpcMode("container:" + sb),
		},
	})
	if err != nil {
		return 0, cleanup, err
	}
	ids = append(ids, ctr)
	if err := eng.StartContainer(ctx, ctr); err != nil {
		return 0, cleanup, err
	}
	return time.Since(start), cleanup, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msAll(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}
