// Package engine is dockerlet's one seam over Docker Engine: a narrow,
// ctx-first interface with a moby-client implementation (Client) and an
// in-memory fake (package fake). Everything above it speaks this interface.
//
// Container and image records use the moby API types: they are the engine's
// own vocabulary, complete, and what the fake must mimic. Streams, pulls and
// exec use dockerlet's small types so that callers never touch hijacked
// connections or Docker's stream multiplexing.
package engine

import (
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
)

// Engine is the Docker interface dockerlet stands on. Every method is
// bounded: short calls by the request timeout, pulls by the progress
// deadline, streams by their context.
type Engine interface {
	// Containers.
	ListContainers(ctx context.Context, opts ListOptions) ([]container.Summary, error)
	InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error)
	CreateContainer(ctx context.Context, spec CreateSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal, waits up to timeout, then kills.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	KillContainer(ctx context.Context, id, signal string) error
	RemoveContainer(ctx context.Context, id string, opts RemoveOptions) error
	UpdateContainerResources(ctx context.Context, id string, res container.Resources) error

	// Images.
	InspectImageByRef(ctx context.Context, ref string) (*image.InspectResponse, error)
	InspectImageByID(ctx context.Context, id string) (*image.InspectResponse, error)
	ListImages(ctx context.Context, opts ImageListOptions) ([]image.Summary, error)
	// PullImage pulls ref and blocks until done. It fails with ErrPullStalled
	// when no progress arrives for the configured deadline.
	PullImage(ctx context.Context, ref string, opts PullOptions) error
	RemoveImage(ctx context.Context, ref string, opts ImageRemoveOptions) ([]image.DeleteResponse, error)
	TagImage(ctx context.Context, source, target string) error
	ImageHistory(ctx context.Context, id string) ([]image.HistoryResponseItem, error)

	// Logs, attach and TTYs.
	// ContainerLogs returns the log stream, bounded by ctx. As in Docker, a
	// container without a TTY yields the multiplexed format (read it with
	// github.com/moby/moby/api/pkg/stdcopy.StdCopy), a TTY container raw bytes.
	ContainerLogs(ctx context.Context, id string, opts LogsOptions) (io.ReadCloser, error)
	// AttachContainer streams until the container's output ends or ctx ends.
	AttachContainer(ctx context.Context, id string, streams Streams) error
	ResizeContainerTTY(ctx context.Context, id string, height, width uint) error

	// Exec.
	CreateExec(ctx context.Context, containerID string, cfg ExecConfig) (string, error)
	// StartExec runs the exec attached to streams and returns when its
	// output ends (the process exited) or ctx ends.
	StartExec(ctx context.Context, execID string, streams Streams) error
	InspectExec(ctx context.Context, execID string) (*ExecInspect, error)
	ResizeExecTTY(ctx context.Context, execID string, height, width uint) error

	// Daemon.
	Version(ctx context.Context) (*Version, error)
	Info(ctx context.Context) (*system.Info, error)
	// Events streams container events until ctx ends. The error channel
	// receives exactly one value when the stream ends for any reason; the
	// event channel is never closed, so select on both.
	Events(ctx context.Context, opts EventsOptions) (<-chan Event, <-chan error)
}

// CreateSpec is everything Docker needs to create one container.
type CreateSpec struct {
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	Networking *network.NetworkingConfig
}

// ListOptions selects containers. Labels are "key" or "key=value" filters,
// all of which must match.
type ListOptions struct {
	All    bool
	Labels []string
	IDs    []string
	Names  []string
	Status []string
}

// RemoveOptions for RemoveContainer.
type RemoveOptions struct {
	Force         bool
	RemoveVolumes bool
}

// ImageListOptions for ListImages.
type ImageListOptions struct {
	All       bool
	Reference string // optional "reference" filter
}

// ImageRemoveOptions for RemoveImage.
type ImageRemoveOptions struct {
	Force         bool
	PruneChildren bool
}

// PullOptions carries the credential and the progress callback.
type PullOptions struct {
	Auth     *registry.AuthConfig // nil: anonymous
	Progress func(Progress)       // may be nil; called from the pulling goroutine
}

// Progress is one pull progress report.
type Progress struct {
	Image   string
	Layer   string // layer id, "" for image-wide status lines
	Status  string // "Downloading", "Pull complete", …
	Current int64
	Total   int64
}

// LogsOptions for ContainerLogs. Since/Until are RFC3339 or unix timestamps
// as Docker accepts them; Tail is "all" or a number.
type LogsOptions struct {
	Stdout     bool
	Stderr     bool
	Follow     bool
	Timestamps bool
	Since      string
	Until      string
	Tail       string
}

// Streams wires a process's standard streams. With TTY the output is one
// raw stream written to Stdout; without, Stdout and Stderr are demultiplexed.
// Nil members are not attached.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
}

// ExecConfig describes a process to run in a container.
type ExecConfig struct {
	Cmd          []string
	Env          []string
	User         string
	WorkingDir   string
	TTY          bool
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Privileged   bool
}

// ExecInspect is what dockerlet needs to know about an exec.
type ExecInspect struct {
	ID          string
	ContainerID string
	Running     bool
	ExitCode    int
	Pid         int
}

// Version of the engine and of the API in use after negotiation.
type Version struct {
	Version       string
	APIVersion    string // negotiated, what this client speaks
	ServerAPI     string // the daemon's maximum
	MinAPIVersion string
	Os            string
	Arch          string
	KernelVersion string
}

// ActionDetail is the Event attribute with the detail Docker appends to
// some actions (exec_create, exec_start, health_status).
const ActionDetail = "dockerlet.actionDetail"

// EventsOptions for Events.
type EventsOptions struct {
	Since  time.Time
	Labels []string // label filters, as in ListOptions
}

// Event is one container event.
type Event struct {
	ContainerID string
	Action      string // create, start, die, destroy, oom, exec_die, …: the bare verb
	// Attributes are Docker's: the container's labels, name, image, and
	// per action exitCode, execID, …; ActionDetail holds what Docker
	// appended to the action ("sh -c date" of "exec_create: sh -c date").
	Attributes map[string]string
	Time       time.Time
}
