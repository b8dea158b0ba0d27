package metrics

import (
	"reflect"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// cacheResyncReasons are the reasons the engine cache resyncs for.
var cacheResyncReasons = []string{"start", "reconnect", "periodic", "settle", "requested", "retry"}

// newBuildInfo is dockerlet_build_info: always 1, its labels say what
// runs (a dashboard joins on it; an upgrade shows as a label change).
func newBuildInfo(version string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; labels: dockerlet's version, the Go version it was built with, its OS and architecture.",
		ConstLabels: prometheus.Labels{
			"version": version, "goversion": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		},
	})
	g.Set(1)
	return g
}

// initSeries creates every error and outcome series at zero. A counter
// that appears only at its first increment hides that increment from
// rate() and increase(), so an alert on the first Docker timeout would
// never fire; with the series present from the start it does. Every label
// set is bounded: Docker operations (the engine's methods) × error kinds,
// pull outcomes, cache resync reasons × results.
func (m *Metrics) initSeries() {
	kinds := []string{"other"}
	for _, k := range errorKinds {
		kinds = append(kinds, k.name)
	}
	for _, op := range engineOperations() {
		m.dockerTimeouts.WithLabelValues(op)
		for _, k := range kinds {
			m.dockerErrors.WithLabelValues(op, k)
		}
	}
	m.pulls.WithLabelValues("success")
	for _, k := range kinds {
		m.pulls.WithLabelValues(k)
	}
	for _, r := range cacheResyncReasons {
		m.cacheResyncs.WithLabelValues(r, "ok")
		m.cacheResyncs.WithLabelValues(r, "error")
	}
	m.cni.initSeries()
}

// engineOperations are the operation label values: the names of the
// engine's methods, which is what the instrumented engine records.
func engineOperations() []string {
	t := reflect.TypeFor[engine.Engine]()
	ops := make([]string, 0, t.NumMethod())
	for i := range t.NumMethod() {
		ops = append(ops, t.Method(i).Name)
	}
	return ops
}
