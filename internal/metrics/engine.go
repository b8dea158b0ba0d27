package metrics

import (
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// WrapEngine returns eng instrumented: every operation is counted, timed
// (streams excepted: their lifetime is the caller's) and its errors
// classified; pulls are tracked in flight and by outcome. Put it directly
// over the real engine, under the cache, so that it measures Docker.
func (m *Metrics) WrapEngine(eng engine.Engine) engine.Engine {
	return &instrumented{m: m, eng: eng}
}

type instrumented struct {
	m   *Metrics
	eng engine.Engine
}

var _ engine.Engine = (*instrumented)(nil)

// done records one finished operation.
func (w *instrumented) done(op string, start time.Time, err error) {
	w.m.dockerOps.WithLabelValues(op).Inc()
	if !start.IsZero() {
		w.m.dockerDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
	if err == nil {
		return
	}
	kind := errorKind(err)
	w.m.dockerErrors.WithLabelValues(op, kind).Inc()
	if kind == "timeout" {
		w.m.dockerTimeouts.WithLabelValues(op).Inc()
	}
}

func (w *instrumented) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	start := time.Now()
	r, err := w.eng.ListContainers(ctx, opts)
	w.done("ListContainers", start, err)
	return r, err
}

func (w *instrumented) InspectContainer(ctx context.Context, id string) (*container.InspectResponse, error) {
	start := time.Now()
	r, err := w.eng.InspectContainer(ctx, id)
	w.done("InspectContainer", start, err)
	return r, err
}

func (w *instrumented) CreateContainer(ctx context.Context, spec engine.CreateSpec) (string, error) {
	start := time.Now()
	r, err := w.eng.CreateContainer(ctx, spec)
	w.done("CreateContainer", start, err)
	return r, err
}

func (w *instrumented) StartContainer(ctx context.Context, id string) error {
	start := time.Now()
	err := w.eng.StartContainer(ctx, id)
	w.done("StartContainer", start, err)
	return err
}

func (w *instrumented) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	start := time.Now()
	err := w.eng.StopContainer(ctx, id, timeout)
	w.done("StopContainer", start, err)
	return err
}

func (w *instrumented) KillContainer(ctx context.Context, id, signal string) error {
	start := time.Now()
	err := w.eng.KillContainer(ctx, id, signal)
	w.done("KillContainer", start, err)
	return err
}

func (w *instrumented) RemoveContainer(ctx context.Context, id string, opts engine.RemoveOptions) error {
	start := time.Now()
	err := w.eng.RemoveContainer(ctx, id, opts)
	w.done("RemoveContainer", start, err)
	return err
}

func (w *instrumented) UpdateContainerResources(ctx context.Context, id string, res container.Resources) error {
	start := time.Now()
	err := w.eng.UpdateContainerResources(ctx, id, res)
	w.done("UpdateContainerResources", start, err)
	return err
}

func (w *instrumented) InspectImageByRef(ctx context.Context, ref string) (*image.InspectResponse, error) {
	start := time.Now()
	r, err := w.eng.InspectImageByRef(ctx, ref)
	w.done("InspectImageByRef", start, err)
	return r, err
}

func (w *instrumented) InspectImageByID(ctx context.Context, id string) (*image.InspectResponse, error) {
	start := time.Now()
	r, err := w.eng.InspectImageByID(ctx, id)
	w.done("InspectImageByID", start, err)
	return r, err
}

func (w *instrumented) ListImages(ctx context.Context, opts engine.ImageListOptions) ([]image.Summary, error) {
	start := time.Now()
	r, err := w.eng.ListImages(ctx, opts)
	w.done("ListImages", start, err)
	return r, err
}

// PullImage also tracks pulls in flight, their duration and outcome.
func (w *instrumented) PullImage(ctx context.Context, ref string, opts engine.PullOptions) error {
	w.m.pullsInFlight.Inc()
	defer w.m.pullsInFlight.Dec()
	start := time.Now()
	err := w.eng.PullImage(ctx, ref, opts)
	w.done("PullImage", start, err)
	w.m.pullDuration.Observe(time.Since(start).Seconds())
	outcome := "success"
	if err != nil {
		outcome = errorKind(err)
	}
	w.m.pulls.WithLabelValues(outcome).Inc()
	return err
}

func (w *instrumented) RemoveImage(ctx context.Context, ref string, opts engine.ImageRemoveOptions) ([]image.DeleteResponse, error) {
	start := time.Now()
	r, err := w.eng.RemoveImage(ctx, ref, opts)
	w.done("RemoveImage", start, err)
	return r, err
}

func (w *instrumented) TagImage(ctx context.Context, source, target string) error {
	start := time.Now()
	err := w.eng.TagImage(ctx, source, target)
	w.done("TagImage", start, err)
	return err
}

func (w *instrumented) ImageHistory(ctx context.Context, id string) ([]image.HistoryResponseItem, error) {
	start := time.Now()
	r, err := w.eng.ImageHistory(ctx, id)
	w.done("ImageHistory", start, err)
	return r, err
}

// ContainerLogs is timed until the stream opens.
func (w *instrumented) ContainerLogs(ctx context.Context, id string, opts engine.LogsOptions) (io.ReadCloser, error) {
	start := time.Now()
	r, err := w.eng.ContainerLogs(ctx, id, opts)
	w.done("ContainerLogs", start, err)
	return r, err
}

func (w *instrumented) AttachContainer(ctx context.Context, id string, streams engine.Streams) error {
	err := w.eng.AttachContainer(ctx, id, streams)
	w.done("AttachContainer", time.Time{}, err)
	return err
}

func (w *instrumented) ResizeContainerTTY(ctx context.Context, id string, height, width uint) error {
	start := time.Now()
	err := w.eng.ResizeContainerTTY(ctx, id, height, width)
	w.done("ResizeContainerTTY", start, err)
	return err
}

func (w *instrumented) CreateExec(ctx context.Context, containerID string, cfg engine.ExecConfig) (string, error) {
	start := time.Now()
	r, err := w.eng.CreateExec(ctx, containerID, cfg)
	w.done("CreateExec", start, err)
	return r, err
}

func (w *instrumented) StartExec(ctx context.Context, execID string, streams engine.Streams) error {
	err := w.eng.StartExec(ctx, execID, streams)
	w.done("StartExec", time.Time{}, err)
	return err
}

func (w *instrumented) InspectExec(ctx context.Context, execID string) (*engine.ExecInspect, error) {
	start := time.Now()
	r, err := w.eng.InspectExec(ctx, execID)
	w.done("InspectExec", start, err)
	return r, err
}

func (w *instrumented) ResizeExecTTY(ctx context.Context, execID string, height, width uint) error {
	start := time.Now()
	err := w.eng.ResizeExecTTY(ctx, execID, height, width)
	w.done("ResizeExecTTY", start, err)
	return err
}

func (w *instrumented) Version(ctx context.Context) (*engine.Version, error) {
	start := time.Now()
	r, err := w.eng.Version(ctx)
	w.done("Version", start, err)
	return r, err
}

func (w *instrumented) Info(ctx context.Context) (*system.Info, error) {
	start := time.Now()
	r, err := w.eng.Info(ctx)
	w.done("Info", start, err)
	return r, err
}

// Events counts the stream and how it ended; a stream ended by its own
// context is not an error.
func (w *instrumented) Events(ctx context.Context, opts engine.EventsOptions) (<-chan engine.Event, <-chan error) {
	events, errc := w.eng.Events(ctx, opts)
	out := make(chan error, 1)
	go func() {
		err := <-errc
		if ctx.Err() != nil {
			w.done("Events", time.Time{}, nil)
		} else {
			w.done("Events", time.Time{}, err)
		}
		out <- err
	}()
	return events, out
}
