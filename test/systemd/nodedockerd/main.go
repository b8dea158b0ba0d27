// Command nodedockerd runs the systemd test node's Docker daemon: a
// private dockerd (internal/testutil/privdockerd) with the systemd cgroup
// driver, run by node.sh as the node's dlsd-dockerd.service. It writes
// DOCKER_HOST and the daemon's bridge to the file -env names once the
// daemon answers, and removes everything the daemon made when the service
// stops (SIGTERM).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dockerlet/dockerlet/internal/testutil/privdockerd"
)

func main() {
	envFile := flag.String("env", "", "file to write DOCKER_HOST=… and BRIDGE=… to")
	driver := flag.String("cgroup-driver", "systemd", "Docker's cgroup driver")
	flag.Parse()
	if *envFile == "" {
		log.Fatal("nodedockerd: -env is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	d, err := privdockerd.Launch(lctx, privdockerd.Options{CgroupDriver: *driver}, log.Printf)
	cancel()
	if err != nil {
		if d != nil {
			_ = d.Close()
		}
		log.Fatalf("nodedockerd: %v", err)
	}
	env := fmt.Sprintf("DOCKER_HOST=%s\nBRIDGE=%s\nDOCKERD_LOG=%s\n", d.Host, d.Bridge, d.LogPath)
	tmp := *envFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(env), 0o644); err == nil {
		err = os.Rename(tmp, *envFile)
	}
	if err != nil {
		log.Printf("nodedockerd: %v", err)
		stop()
	}
	log.Printf("nodedockerd: dockerd at %s (cgroup driver %s)", d.Host, *driver)
	<-ctx.Done()
	if err := d.Close(); err != nil {
		log.Fatalf("nodedockerd: clean-up: %v", err)
	}
}
