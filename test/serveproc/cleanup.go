package serveproc

import (
	"context"
	"net"
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
	for _, c := range list {
		_ = eng.RemoveContainer(ctx, c.ID, engine.RemoveOptions{Force: true, RemoveVolumes: true})
	}
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
