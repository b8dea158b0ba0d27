// Command floor measures the floor of pod start-up on this machine: the
// same two containers dockerlet makes for a pod (pause + one workload
// container joined to its namespaces) created and started through the
// Docker API directly, plus — in CNI mode — the CNI ADD of the same network
// configuration invoked directly. `make bench` runs it next to cribench so
// that dockerlet's start-up is compared as a ratio within one run.
//
//	floor -n 30 -pause localhost:5000/pause:3.10 -image localhost:5000/e2e-test-images/busybox:1.29-2 [-cni-conf-dir DIR]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/network"
)

func main() {
	n := flag.Int("n", 30, "pods to start")
	pause := flag.String("pause", "localhost:5000/pause:3.10", "sandbox image (present in Docker)")
	img := flag.String("image", "localhost:5000/e2e-test-images/busybox:1.29-2", "workload image (present in Docker)")
	cniConf := flag.String("cni-conf-dir", "", "CNI mode: run the CNI ADD of the config in this directory")
	jsonOut := flag.String("json", "", "also write the samples as JSON")
	flag.Parse()
	if err := run(*n, *pause, *img, *cniConf, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(n int, pause, img, cniConf, jsonOut string) error {
	ctx := context.Background()
	eng, err := engine.Connect("", engine.Options{RequestTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer eng.Close()
	var plugin network.Plugin
	if cniConf != "" {
		if plugin, err = network.New(eng, network.Config{Plugin: network.PluginCNI, CNIConfDir: cniConf, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			return err
		}
		if err := plugin.Status(); err != nil {
			return fmt.Errorf("cni not ready: %w", err)
		}
	}
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
		out := map[string]any{"mode": mode, "n": n, "median_ms": ms(sorted[len(sorted)/2]), "samples_ms": msAll(samples)}
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(jsonOut, b, 0o644)
	}
	return nil
}

// startPod times what RunPodSandbox + CreateContainer + StartContainer must
// do at the least, and returns a cleanup that is not timed.
func startPod(ctx context.Context, eng *engine.Client, plugin network.Plugin, pause, img string, i int) (time.Duration, func(), error) {
	var ids []string
	pod := &network.Pod{Name: fmt.Sprintf("floor-%d", i), Namespace: "dockerlet-floor", UID: fmt.Sprintf("floor-uid-%d", i)}
	netns := ""
	cleanup := func() {
		if plugin != nil && pod.ID != "" {
			_ = plugin.TearDown(ctx, pod, netns)
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
		pod.ID = sb
		netns = fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
		if _, err := plugin.SetUp(ctx, pod, netns); err != nil {
			return 0, cleanup, err
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
