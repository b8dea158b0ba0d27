// Package metrics holds dockerlet's Prometheus metrics: per-RPC counts,
// latency and errors (gRPC interceptors), Docker operation latency, errors
// and timeouts (an engine.Engine decorator), pulls in flight and their
// outcomes, the engine cache's resyncs and event-stream reconnects, and
// CNI operations.
//
// Everything lives in one Metrics value with its own registry (no global
// state); Serve exposes it on an optional listener.
package metrics

import (
	"errors"
	"time"

	"github.com/containerd/errdefs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dockerlet/dockerlet/internal/engine"
)

const namespace = "dockerlet"

// latencyBuckets span a cached List (tens of µs) to a slow Docker call.
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
}

// pullBuckets span a present image to a slow multi-GB pull.
var pullBuckets = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// Metrics is one set of dockerlet metrics and the registry that holds them.
type Metrics struct {
	reg *prometheus.Registry

	rpcs        *prometheus.CounterVec   // method, code
	rpcDuration *prometheus.HistogramVec // method
	rpcInFlight *prometheus.GaugeVec     // method (streams matter here)

	dockerOps      *prometheus.CounterVec   // operation
	dockerDuration *prometheus.HistogramVec // operation
	dockerErrors   *prometheus.CounterVec   // operation, kind
	dockerTimeouts *prometheus.CounterVec   // operation

	pullsInFlight prometheus.Gauge
	pulls         *prometheus.CounterVec // outcome
	pullDuration  prometheus.Histogram

	cacheResyncs        *prometheus.CounterVec // reason, result
	cacheResyncDuration prometheus.Histogram
	eventReconnects     prometheus.Counter

	cni cniMetrics

	buildInfo prometheus.Gauge

	// own are dockerlet's collectors (not Go's or the process's), each
	// described in docs/metrics.md.
	own []prometheus.Collector
}

// New returns metrics registered in a fresh registry, together with the Go
// runtime and process collectors; version is dockerlet's, for
// dockerlet_build_info. Error and outcome series start at zero.
func New(version string) *Metrics {
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		buildInfo: newBuildInfo(version),
		cni:       newCNIMetrics(),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cri", Name: "requests_total",
			Help: "CRI calls handled, by method and gRPC status code.",
		}, []string{"method", "code"}),
		rpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "cri", Name: "request_duration_seconds",
			Help: "Latency of unary CRI calls and lifetime of streams, by method.", Buckets: latencyBuckets,
		}, []string{"method"}),
		rpcInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "cri", Name: "requests_in_flight",
			Help: "CRI calls (and open streams) being handled, by method.",
		}, []string{"method"}),
		dockerOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "docker", Name: "operations_total",
			Help: "Docker Engine operations, by operation.",
		}, []string{"operation"}),
		dockerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "docker", Name: "operation_duration_seconds",
			Help: "Latency of Docker Engine operations (streams excluded), by operation.", Buckets: latencyBuckets,
		}, []string{"operation"}),
		dockerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "docker", Name: "operation_errors_total",
			Help: "Failed Docker Engine operations, by operation and error kind.",
		}, []string{"operation", "kind"}),
		dockerTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "docker", Name: "operation_timeouts_total",
			Help: "Docker Engine operations that hit their deadline, by operation.",
		}, []string{"operation"}),
		pullsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "image", Name: "pulls_in_flight",
			Help: "Image pulls in progress.",
		}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "image", Name: "pulls_total",
			Help: "Finished image pulls, by outcome.",
		}, []string{"outcome"}),
		pullDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "image", Name: "pull_duration_seconds",
			Help: "Duration of image pulls, successful or not.", Buckets: pullBuckets,
		}),
		cacheResyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cache", Name: "resyncs_total",
			Help: "Full resyncs of the container cache, by reason (start, reconnect, periodic, requested) and result.",
		}, []string{"reason", "result"}),
		cacheResyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "cache", Name: "resync_duration_seconds",
			Help: "Duration of container cache resyncs.", Buckets: latencyBuckets,
		}),
		eventReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cache", Name: "event_stream_reconnects_total",
			Help: "Times the Docker event stream ended and was re-subscribed.",
		}),
	}
	m.own = []prometheus.Collector{
		m.rpcs, m.rpcDuration, m.rpcInFlight,
		m.dockerOps, m.dockerDuration, m.dockerErrors, m.dockerTimeouts,
		m.pullsInFlight, m.pulls, m.pullDuration,
		m.cacheResyncs, m.cacheResyncDuration, m.eventReconnects,
		m.cni.ops, m.cni.duration,
		m.buildInfo,
	}
	m.reg.MustRegister(m.own...)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.initSeries()
	return m
}

// Registry is the registry holding these metrics (for tests and for
// callers that add their own collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// CacheResync implements cache.Metrics.
func (m *Metrics) CacheResync(reason string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.cacheResyncs.WithLabelValues(reason, result).Inc()
	m.cacheResyncDuration.Observe(d.Seconds())
}

// EventStreamReconnect implements cache.Metrics.
func (m *Metrics) EventStreamReconnect() { m.eventReconnects.Inc() }

// errorKinds maps errors to bounded label values, first match wins: the
// refinements before the errdefs kinds they are.
var errorKinds = []struct {
	is   func(error) bool
	name string
}{
	{isErr(engine.ErrRegistryUnavailable), "registry_unavailable"},
	{isErr(engine.ErrPullStalled), "pull_stalled"},
	{errdefs.IsNotFound, "not_found"},
	{errdefs.IsConflict, "conflict"},
	{errdefs.IsDeadlineExceeded, "timeout"},
	{errdefs.IsCanceled, "canceled"},
	{errdefs.IsUnauthorized, "unauthorized"},
	{errdefs.IsInvalidArgument, "invalid_argument"},
	{errdefs.IsUnavailable, "unavailable"},
	{errdefs.IsNotImplemented, "not_implemented"},
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// errorKind classifies an engine error for labels: one of a fixed set, so
// label cardinality stays bounded.
func errorKind(err error) string {
	for _, k := range errorKinds {
		if k.is(err) {
			return k.name
		}
	}
	return "other"
}
