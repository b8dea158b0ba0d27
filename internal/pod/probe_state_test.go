package pod

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestProbeStateTiming(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newProbeState(Liveness, &corev1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 3}, t0)
	if s.timeout != time.Second || s.failureThreshold != 3 || s.result != ProbeSuccess {
		t.Fatalf("defaults: %+v", s)
	}
	for _, tt := range []struct {
		at  time.Duration
		due bool
	}{{0, false}, {4 * time.Second, false}, {5 * time.Second, true}} {
		if got := s.due(t0.Add(tt.at)); got != tt.due {
			t.Errorf("due at %v = %v", tt.at, got)
		}
	}
	s.observe(true, "", t0.Add(5*time.Second))
	if s.due(t0.Add(7*time.Second)) || !s.due(t0.Add(8*time.Second)) {
		t.Error("period not honoured")
	}
}

func TestProbeStateThresholds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		kind  ProbeKind
		spec  corev1.Probe
		runs  []bool
		want  []ProbeResult
		flips []bool
	}{
		{"liveness fails after 3", Liveness, corev1.Probe{}, []bool{false, false, true, false, false, false},
			[]ProbeResult{ProbeSuccess, ProbeSuccess, ProbeSuccess, ProbeSuccess, ProbeSuccess, ProbeFailure},
			[]bool{false, false, false, false, false, true}},
		{"readiness starts failing, needs 2 successes", Readiness, corev1.Probe{SuccessThreshold: 2, FailureThreshold: 1},
			[]bool{true, true, false, true},
			[]ProbeResult{ProbeFailure, ProbeSuccess, ProbeFailure, ProbeFailure},
			[]bool{false, true, true, false}},
		{"startup unknown until success", Startup, corev1.Probe{FailureThreshold: 2, SuccessThreshold: 5},
			[]bool{false, true},
			[]ProbeResult{ProbeUnknown, ProbeSuccess},
			[]bool{false, true}},
		{"startup fails", Startup, corev1.Probe{FailureThreshold: 2}, []bool{false, false},
			[]ProbeResult{ProbeUnknown, ProbeFailure}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newProbeState(tt.kind, &tt.spec, t0)
			for i, ok := range tt.runs {
				flipped := s.observe(ok, "m", t0.Add(time.Duration(i)*time.Minute))
				if s.result != tt.want[i] || flipped != tt.flips[i] {
					t.Fatalf("run %d (%v): result %v flipped %v, want %v %v", i, ok, s.result, flipped, tt.want[i], tt.flips[i])
				}
			}
		})
	}
}
