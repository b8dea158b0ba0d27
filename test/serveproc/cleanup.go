package serveproc

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// RemoveOwn force-removes every container of the server whose root
// directory is root (its owner label) on eng: what a failed test left.
func RemoveOwn(eng engine.Engine, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	list, err := eng.ListContainers(ctx, engine.ListOptions{All: true, Labels: []string{naming.LabelPrefix + "root-dir=" + root}})
	if err != nil {
		return
	}
	// Eight at a time: a soak leaves hundreds, and one force-remove took
	// up to 15 s on a busy host.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, c := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true})
		}()
	}
	wg.Wait()
}

// FreeAddr returns a 127.0.0.1 address with a port free at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
