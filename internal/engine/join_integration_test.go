package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// TestIntegrationCannotJoinPeer: Docker's real refusals to join a peer's
// namespaces — the network of a peer that is not running, the IPC of a
// running peer that does not share it (what a live-restored sandbox turns
// into) — are ErrCannotJoin and name the peer: by id, or (Docker 29's
// network refusal) by its container name.
func TestIntegrationCannotJoinPeer(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, c, "join")
	name := func(what string) string {
		return fmt.Sprintf("dlcf-join-%s-%d-%d", what, time.Now().UnixNano()%1e6, seq.Add(1))
	}
	names := map[string]string{} // id → name
	create := func(what string, hc *container.HostConfig) string {
		t.Helper()
		n := name(what)
		id, err := c.CreateContainer(ctx, engine.CreateSpec{
			Name:       n,
			Config:     &container.Config{Image: img, Cmd: []string{"sleep", "600"}},
			HostConfig: hc,
		})
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
		removeContainerAtEnd(t, c, id)
		names[id] = n
		return id
	}
	namesPeer := func(err error, id string) bool {
		p := engine.JoinPeer(err)
		return p != "" && (strings.HasPrefix(id, p) || p == names[id])
	}

	stopped := create("stopped-peer", &container.HostConfig{IpcMode: "shareable"})
	net := create("net", &container.HostConfig{NetworkMode: container.NetworkMode("container:" + stopped)})
	err := c.StartContainer(ctx, net)
	if !errors.Is(err, engine.ErrCannotJoin) || !namesPeer(err, stopped) {
		t.Fatalf("start in the network of a stopped peer: %v (peer %q), want ErrCannotJoin naming %s", err, engine.JoinPeer(err), stopped)
	}

	private := create("private-peer", &container.HostConfig{IpcMode: "private"})
	if err := c.StartContainer(ctx, private); err != nil {
		t.Fatal(err)
	}
	ipc := create("ipc", &container.HostConfig{IpcMode: container.IpcMode("container:" + private)})
	err = c.StartContainer(ctx, ipc)
	if !errors.Is(err, engine.ErrCannotJoin) || !namesPeer(err, private) {
		t.Fatalf("start in the IPC of a non-shareable peer: %v (peer %q), want ErrCannotJoin naming %s", err, engine.JoinPeer(err), private)
	}
	t.Logf("Docker's IPC refusal: %v", err)
}
