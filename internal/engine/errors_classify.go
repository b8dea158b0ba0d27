package engine

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Error is an engine failure: the operation, its kind (an errdefs kind or
// one of the refinements in errors.go; nil when unclassified) and the
// underlying error. errors.Is matches both the kind and anything in the
// underlying chain, and errdefs.Resolve finds the kind first.
type Error struct {
	Op   string
	Kind error
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Op + ": " + e.Kind.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

// Unwrap exposes both the kind and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// classify is the one place that maps moby-client and daemon errors to
// errdefs kinds. op names the operation ("start container abc").
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Kind: kindOf(err), Err: err}
}

// kindOf returns the kind of err, or nil. The moby client's errors answer
// errdefs' Is… checks but not errdefs.Resolve (they unwrap to their text),
// so the kind is named here, on the Error, where Resolve finds it first.
func kindOf(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return nil // the caller's own cancellation: not an engine fault
	case errdefs.IsDeadlineExceeded(err):
		return context.DeadlineExceeded
	case client.IsErrConnectionFailed(err), isDialError(err):
		return errdefs.ErrUnavailable
	case JoinPeer(err) != "":
		// Before the status codes: Docker answers some of these 409, some
		// 500; either way it is about the peer, not this container.
		return ErrCannotJoin
	case strings.Contains(err.Error(), "unable to set memory limit"):
		// runc could not lower a running container's memory limit: the
		// kernel could not reclaim enough (Docker answers 500). The
		// container's state refuses it, not the request's form.
		return errdefs.ErrConflict
	case errdefs.IsNotFound(err):
		return errdefs.ErrNotFound
	case errdefs.IsConflict(err), errdefs.IsAlreadyExists(err):
		return errdefs.ErrConflict
	case errdefs.IsUnauthorized(err), errdefs.IsPermissionDenied(err):
		return errdefs.ErrUnauthenticated
	case errdefs.IsInvalidArgument(err):
		return errdefs.ErrInvalidArgument
	case errdefs.IsNotImplemented(err):
		return errdefs.ErrNotImplemented
	case errdefs.IsUnavailable(err):
		return errdefs.ErrUnavailable
	case errdefs.IsFailedPrecondition(err):
		return errdefs.ErrFailedPrecondition
	case strings.Contains(err.Error(), "invalid reference format"):
		// Docker 20.10 answers a malformed reference with a 500.
		return errdefs.ErrInvalidArgument
	}
	return nil
}

// isDialError reports a failure to reach the daemon's socket or port.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) && errors.As(err, &op)
}

// joinRefusals are Docker's messages for a container that cannot join a
// peer's namespaces; the peer's id or name follows the prefix (Docker 29
// puts "container " before it, and names the network peer by its name).
var joinRefusals = []string{
	// Docker 20.10 to 28.
	"cannot join network of a non running container: ",
	"cannot join PID of a non running container: ",
	"can't join IPC of container ",
	// Docker 20.10 to 29 (29: "...: container <name> is <state>").
	"cannot join network namespace of a non running container: ",
	// Docker 29: "...: container <id> is not running" or "...: container
	// <id>: non-shareable IPC".
	"failed to join IPC namespace: container ",
	"failed to join PID namespace: container ",
}

// JoinPeer returns the container whose namespaces Docker refused to join
// in err, or "" when err is no such refusal.
func JoinPeer(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, p := range joinRefusals {
		i := strings.Index(msg, p)
		if i < 0 {
			continue
		}
		rest := strings.TrimPrefix(msg[i+len(p):], "container ")
		end := strings.IndexFunc(rest, func(r rune) bool {
			return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == '-' || r == '.')
		})
		if end >= 0 {
			rest = rest[:end]
		}
		if rest != "" {
			return rest
		}
	}
	return ""
}
