package main

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// maxExecOutput caps each stream of an ExecSync, as the kubelet does.
const maxExecOutput = 16 << 20

// execSync runs cmd in a Docker container and collects its output: the
// CRI's ExecSync for probes, hooks and `dockerlet exec`. On timeout it kills
// the exec's process. (Stands in until internal/streaming's ExecSync is
// wired into the CRI service for both front ends.)
func execSync(ctx context.Context, eng engine.Engine, containerID string, cmd []string, timeout time.Duration) (*runtimeapi.ExecSyncResponse, error) {
	id, err := eng.CreateExec(ctx, containerID, engine.ExecConfig{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, fmt.Errorf("create exec: %w", err)
	}
	runCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr cappedBuffer
	err = eng.StartExec(runCtx, id, engine.Streams{Stdout: &stdout, Stderr: &stderr})
	if runCtx.Err() != nil && ctx.Err() == nil {
		// Timed out: the process would go on running in the container.
		if ins, ierr := eng.InspectExec(context.WithoutCancel(ctx), id); ierr == nil && ins.Running && ins.Pid > 0 {
			_ = syscall.Kill(ins.Pid, syscall.SIGKILL)
		}
		return nil, fmt.Errorf("exec %q: timed out after %s: %w", cmd, timeout, context.DeadlineExceeded)
	}
	if err != nil {
		return nil, fmt.Errorf("start exec: %w", err)
	}
	ins, err := eng.InspectExec(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect exec: %w", err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(ins.ExitCode)}, nil
}

// cappedBuffer keeps the first maxExecOutput bytes and drops the rest.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := maxExecOutput - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
