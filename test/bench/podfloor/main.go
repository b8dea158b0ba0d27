// Command podfloor measures the floor of critest's "whole pod lifecycle"
// benchmark on this machine: a pause container created, started, inspected,
// stopped and removed through the Docker API directly — what RunPodSandbox,
// PodSandboxStatus, StopPodSandbox and RemovePodSandbox must do at the
// least. Compare its median with critest's in the same quiet minute.
//
//	podfloor -n 50 -pause localhost:5000/pause:3.10 [-net none]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
)

func main() {
	n := flag.Int("n", 50, "pod lifecycles")
	pause := flag.String("pause", "localhost:5000/pause:3.10", "sandbox image (present in Docker)")
	netMode := flag.String("net", "bridge", `the pause container's Docker network mode ("bridge", as dockerlet's default network; "none", as in CNI mode before the CNI ADD)`)
	flag.Parse()
	ctx := context.Background()
	eng, err := engine.Connect("", engine.Options{RequestTimeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, "podfloor:", err)
		os.Exit(1)
	}
	defer eng.Close()
	phases := map[string][]time.Duration{}
	for i := 0; i < *n; i++ {
		t0 := time.Now()
		id, err := eng.CreateContainer(ctx, engine.CreateSpec{
			Name:       fmt.Sprintf("dockerlet-podfloor-%d-%d", os.Getpid(), i),
			Config:     &container.Config{Image: *pause, Labels: map[string]string{"io.dockerlet.floor": "true"}},
			HostConfig: &container.HostConfig{IpcMode: "shareable", NetworkMode: container.NetworkMode(*netMode)},
		})
		if err == nil {
			err = eng.StartContainer(ctx, id)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "podfloor:", err)
			os.Exit(1)
		}
		t1 := time.Now()
		_, _ = eng.InspectContainer(ctx, id)
		t2 := time.Now()
		_ = eng.StopContainer(ctx, id, 10*time.Second)
		t3 := time.Now()
		_ = eng.RemoveContainer(ctx, id, engine.RemoveOptions{Force: true})
		t4 := time.Now()
		for k, d := range map[string]time.Duration{"create+start": t1.Sub(t0), "inspect": t2.Sub(t1), "stop": t3.Sub(t2), "remove": t4.Sub(t3), "whole": t4.Sub(t0)} {
			phases[k] = append(phases[k], d)
		}
	}
	for _, k := range []string{"create+start", "inspect", "stop", "remove", "whole"} {
		s := phases[k]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		fmt.Printf("podfloor %-13s n=%d median=%7.2fms p95=%7.2fms\n", k, len(s), float64(s[len(s)/2].Microseconds())/1000, float64(s[len(s)*95/100].Microseconds())/1000)
	}
}
