package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dockerlet/dockerlet/internal/network"
)

// cniBuckets span a single small plugin (a few ms: a fork and exec) to a
// slow IPAM or a plugin that talks to a remote controller.
var cniBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

type cniMetrics struct {
	ops      *prometheus.CounterVec   // op, result
	duration *prometheus.HistogramVec // op
}

func newCNIMetrics() cniMetrics {
	return cniMetrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cni", Name: "operations_total",
			Help: "CNI operations run (the pod's network list, each ADD or DEL one), by operation (add, del) and result (ok, error).",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "cni", Name: "operation_duration_seconds",
			Help: "Duration of CNI operations, successful or not, by operation.", Buckets: cniBuckets,
		}, []string{"op"}),
	}
}

// initSeries creates every operation's ok and error series at zero.
func (c cniMetrics) initSeries() {
	for _, op := range network.CNIOperations {
		c.ops.WithLabelValues(op, "ok")
		c.ops.WithLabelValues(op, "error")
	}
}

// CNIOperation implements network.CNIMetrics.
func (m *Metrics) CNIOperation(op string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.cni.ops.WithLabelValues(op, result).Inc()
	m.cni.duration.WithLabelValues(op).Observe(d.Seconds())
}
