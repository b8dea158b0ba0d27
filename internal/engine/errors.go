package engine

import (
	"errors"
)

// Error kinds. Implementations wrap them (fmt.Errorf("…: %w", ErrNotFound))
// so that callers classify with errors.Is and never match strings.
var (
	ErrNotFound            = errors.New("not found")
	ErrConflict            = errors.New("conflict")
	ErrTimeout             = errors.New("timeout")
	ErrUnauthorized        = errors.New("unauthorized")
	ErrRegistryUnavailable = errors.New("registry unavailable")
	ErrPullStalled         = errors.New("pull made no progress")
	ErrInvalidArgument     = errors.New("invalid argument")
	ErrUnavailable         = errors.New("engine unavailable")
	ErrNotImplemented      = errors.New("not implemented by the engine")
	// ErrCannotJoin: Docker refused to create or start a container because
	// it cannot join another container's namespaces (network, IPC, PID):
	// that container is not running, or no longer shares them (after a
	// dockerd restart, say). JoinPeer names that container.
	ErrCannotJoin = errors.New("cannot join the namespaces of another container")
)
