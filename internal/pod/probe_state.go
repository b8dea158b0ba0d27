package pod

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ProbeResult is the outcome a probe worker currently reports.
type ProbeResult int

const (
	ProbeUnknown ProbeResult = iota
	ProbeSuccess
	ProbeFailure
)

func (r ProbeResult) String() string {
	switch r {
	case ProbeSuccess:
		return "Success"
	case ProbeFailure:
		return "Failure"
	}
	return "Unknown"
}

// ProbeKind is liveness, readiness or startup.
type ProbeKind string

const (
	Liveness  ProbeKind = "Liveness"
	Readiness ProbeKind = "Readiness"
	Startup   ProbeKind = "Startup"
)

// probeState is the timing and threshold logic of one probe of one
// container instance, free of I/O so that it is tested without sleeping.
type probeState struct {
	kind                 ProbeKind
	spec                 *corev1.Probe
	initialDelay, period time.Duration
	timeout              time.Duration
	successThreshold     int
	failureThreshold     int
	started              time.Time // container start
	lastRun              time.Time
	result               ProbeResult
	successes, failures  int
	lastMessage          string
}

func newProbeState(kind ProbeKind, spec *corev1.Probe, started time.Time) *probeState {
	s := &probeState{
		kind: kind, spec: spec, started: started,
		initialDelay:     time.Duration(spec.InitialDelaySeconds) * time.Second,
		period:           secondsOr(spec.PeriodSeconds, 10),
		timeout:          secondsOr(spec.TimeoutSeconds, 1),
		successThreshold: int(intOr(spec.SuccessThreshold, 1)),
		failureThreshold: int(intOr(spec.FailureThreshold, 3)),
	}
	// The kubelet's initial results: a live container is presumed alive,
	// not yet ready, and not yet started.
	switch kind {
	case Liveness:
		s.result = ProbeSuccess
	case Readiness:
		s.result = ProbeFailure
	default:
		s.result = ProbeUnknown
	}
	if kind != Readiness {
		// Liveness and startup must succeed once in a row (API validation).
		s.successThreshold = 1
	}
	return s
}

func secondsOr(v int32, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func intOr(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// due reports whether the probe should run at now.
func (s *probeState) due(now time.Time) bool {
	if now.Before(s.started.Add(s.initialDelay)) {
		return false
	}
	return s.lastRun.IsZero() || now.Sub(s.lastRun) >= s.period
}

// observe records one probe run at now; it returns true when the reported
// result changed.
func (s *probeState) observe(ok bool, msg string, now time.Time) bool {
	s.lastRun = now
	s.lastMessage = msg
	before := s.result
	if ok {
		s.successes++
		s.failures = 0
		if s.successes >= s.successThreshold {
			s.result = ProbeSuccess
		}
	} else {
		s.failures++
		s.successes = 0
		if s.failures >= s.failureThreshold {
			s.result = ProbeFailure
		}
	}
	return s.result != before
}
