package engine_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/enginetest"
)

// Followed logs run on a connection of their own (client_logs_follow.go):
// they must carry both streams with timestamps, honour Since, end on
// Close and on the caller's cancellation, and classify Docker's errors as
// the client path does.
func TestIntegrationFollowLogs(t *testing.T) {
	c := enginetest.Connect(t, engine.Options{})
	ctx := testCtx(t)
	img := busybox(t, c, "follow")
	id, _ := runContainer(t, c, img, false, nil, "sh", "-c",
		"echo first; i=0; while true; do i=$((i+1)); echo out$i; echo err$i >&2; sleep 0.1; done")

	follow := func(ctx context.Context, since string) (io.ReadCloser, *enginetest.SyncBuffer, *enginetest.SyncBuffer, chan error) {
		rc, err := c.ContainerLogs(ctx, id, engine.LogsOptions{Stdout: true, Stderr: true, Follow: true, Timestamps: true, Since: since})
		if err != nil {
			t.Fatal(err)
		}
		out, errb := &enginetest.SyncBuffer{}, &enginetest.SyncBuffer{}
		done := make(chan error, 1)
		go func() {
			_, err := stdcopy.StdCopy(out, errb, rc)
			done <- err
		}()
		return rc, out, errb, done
	}
	waitFor := func(b *enginetest.SyncBuffer, s string) {
		t.Helper()
		for range 300 {
			if strings.Contains(b.String(), s) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("followed log lacks %q: %q", s, b.String())
	}

	// From the start: every line, timestamped, on its own stream.
	rc, out, errb, done := follow(ctx, "")
	waitFor(out, "out3\n")
	waitFor(errb, "err3\n")
	first, _, _ := strings.Cut(out.String(), "\n")
	if ts, text, _ := strings.Cut(first, " "); text != "first" {
		t.Errorf("first line %q, want a timestamp then \"first\"", first)
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("first line's timestamp: %v", err)
	}
	if strings.Contains(out.String(), "err") || strings.Contains(errb.String(), "out") {
		t.Errorf("streams mixed: stdout %q stderr %q", out.String(), errb.String())
	}
	rc.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the followed read")
	}

	// Since, in the copier's "seconds.nanoseconds" form: taken after out3
	// was seen, so "first" and out1 lie before it; lines keep coming.
	since := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	_, out, _, done = follow(cctx, fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()))
	for range 300 {
		if strings.Count(out.String(), "\n") >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := out.String(); strings.Count(got, "\n") < 3 || strings.Contains(got, " first\n") || strings.Contains(got, " out1\n") {
		t.Errorf("followed since %v: %q, want only lines after it", since, got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not end the followed read")
	}

	// Errors keep their kinds.
	if _, err := c.ContainerLogs(ctx, "dlteng-no-such-container", engine.LogsOptions{Stdout: true, Follow: true}); !errdefs.IsNotFound(err) {
		t.Errorf("follow of a missing container: %v, want errdefs.ErrNotFound", err)
	}
	if _, err := c.ContainerLogs(ctx, "a/../b", engine.LogsOptions{Stdout: true, Follow: true}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("follow of a path-like id: %v, want errdefs.ErrInvalidArgument", err)
	}
	dead, cancelDead := context.WithCancel(ctx)
	cancelDead()
	if _, err := c.ContainerLogs(dead, id, engine.LogsOptions{Stdout: true, Follow: true}); err == nil || errdefs.IsUnavailable(err) {
		t.Errorf("follow under a cancelled context: %v, want a cancellation that is not errdefs.ErrUnavailable", err)
	}
}
