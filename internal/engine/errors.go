package engine

import (
	"context"

	"github.com/containerd/errdefs"
)

// Errors carry containerd/errdefs kinds (errdefs.ErrNotFound,
// errdefs.ErrConflict, context.DeadlineExceeded, …): implementations wrap
// them (fmt.Errorf("…: %w", errdefs.ErrNotFound)), callers classify with
// errdefs.Is…, and the gRPC edge maps them with errgrpc. The kinds below
// refine one of errdefs' for the callers that act on the difference; each
// is that errdefs kind as well.
var (
	// ErrRegistryUnavailable: the registry, not Docker, could not be
	// reached (Unavailable).
	ErrRegistryUnavailable error = &refined{"registry unavailable", errdefs.ErrUnavailable}
	// ErrPullStalled: a pull made no progress for the configured deadline
	// (DeadlineExceeded).
	ErrPullStalled error = &refined{"pull made no progress", context.DeadlineExceeded}
	// ErrCannotJoin: Docker refused to create or start a container because
	// it cannot join another container's namespaces (network, IPC, PID):
	// that container is not running, or no longer shares them (after a
	// dockerd restart, say). JoinPeer names that container
	// (FailedPrecondition).
	ErrCannotJoin error = &refined{"cannot join the namespaces of another container", errdefs.ErrFailedPrecondition}
)

// refined is a named case of an errdefs kind: errors.Is tells it apart,
// errdefs.Resolve sees the kind it unwraps to.
type refined struct {
	msg  string
	kind error
}

func (e *refined) Error() string { return e.msg }
func (e *refined) Unwrap() error { return e.kind }
