package pod

import (
	"testing"
	"time"
)

// TestBackoffSchedule follows a container that crashes right after each
// restart: immediate first restart, then 10 s, 20 s, … capped at 5 min.
func TestBackoffSchedule(t *testing.T) {
	b := NewBackoff(BackoffInitial, BackoffMax)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{0, 10, 20, 40, 80, 160, 300, 300}
	for i, w := range want {
		w *= time.Second
		finished := now
		if in, wait := b.InBackoff("k", finished, now); in != (w > 0) || wait != w {
			t.Fatalf("restart %d: InBackoff = %v %v, want wait %v", i, in, wait, w)
		}
		if w > 0 {
			if in, _ := b.InBackoff("k", finished, now.Add(w-time.Millisecond)); !in {
				t.Fatalf("restart %d: free before the delay ended", i)
			}
			now = now.Add(w)
			if in, _ := b.InBackoff("k", finished, now); in {
				t.Fatalf("restart %d: still in back-off after %v", i, w)
			}
		}
		b.Next("k", finished)
		now = now.Add(time.Second) // it runs 1 s and crashes again
	}
}

func TestBackoffResetsAfterLongRun(t *testing.T) {
	b := NewBackoff(BackoffInitial, BackoffMax)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		b.Next("k", t0)
	}
	if d := b.Delay("k"); d != 160*time.Second {
		t.Fatalf("delay = %v", d)
	}
	// Ran for 10 min and a bit since the last restart: back to the start.
	finished := t0.Add(10*time.Minute + time.Second)
	if in, _ := b.InBackoff("k", finished, finished); in {
		t.Fatal("still in back-off after a 10 min run")
	}
	b.Next("k", finished)
	if d := b.Delay("k"); d != BackoffInitial {
		t.Fatalf("delay after reset = %v, want %v", d, BackoffInitial)
	}
	// A short run does not reset.
	b.Next("k", finished.Add(time.Minute))
	if d := b.Delay("k"); d != 2*BackoffInitial {
		t.Fatalf("delay = %v", d)
	}
	b.Reset("k")
	if d := b.Delay("k"); d != 0 {
		t.Fatalf("after Reset: %v", d)
	}
}

func TestBackoffExportImport(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewBackoff(BackoffInitial, BackoffMax)
	a.Next("u1/c", t0)
	a.Next("u1/c", t0.Add(time.Second))
	a.Next("u2/c", t0)
	states := a.Export("u1/")
	if len(states) != 1 || states["u1/c"].Delay != 2*BackoffInitial {
		t.Fatalf("export: %v", states)
	}
	b := NewBackoff(BackoffInitial, BackoffMax)
	b.Import(states)
	// The restarted supervisor still waits the 20 s.
	if in, wait := b.InBackoff("u1/c", t0.Add(2*time.Second), t0.Add(3*time.Second)); !in || wait != 19*time.Second {
		t.Fatalf("after import: %v %v", in, wait)
	}
}
