package pod

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// PullProgress is one image pull as it goes, per layer: what `play` draws
// as progress bars. The supervisor writes it to the Store, so that a
// `play --wait` in another process shows pulls the daemon makes.
type PullProgress struct {
	Image   string          `json:"image"`
	Status  string          `json:"status,omitempty"` // the latest image-wide status line
	Layers  []LayerProgress `json:"layers,omitempty"`
	Started time.Time       `json:"started"`
	Updated time.Time       `json:"updated"`
}

// LayerProgress is one layer of a pull.
type LayerProgress struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // Waiting, Downloading, Extracting, Pull complete, …
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// PullTracker collects pull progress reports and writes them to the Store
// at most every interval per image.
type PullTracker struct {
	store    Store
	interval time.Duration
	mu       sync.Mutex
	pulls    map[string]*PullProgress
	written  map[string]time.Time
}

// NewPullTracker returns a tracker writing into store.
func NewPullTracker(store Store) *PullTracker {
	return &PullTracker{store: store, interval: 250 * time.Millisecond, pulls: map[string]*PullProgress{}, written: map[string]time.Time{}}
}

// Observe records one progress report (called from the pulling goroutine).
func (t *PullTracker) Observe(image, layer, status string, current, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	p := t.pulls[image]
	if p == nil {
		p = &PullProgress{Image: image, Started: now}
		t.pulls[image] = p
	}
	p.Updated = now
	if layer == "" || strings.HasPrefix(status, "Pulling from") {
		p.Status = status
	} else {
		found := false
		for i := range p.Layers {
			if p.Layers[i].ID == layer {
				l := &p.Layers[i]
				l.Status = status
				if total > 0 || current > 0 {
					l.Current, l.Total = current, total
				}
				found = true
				break
			}
		}
		if !found {
			p.Layers = append(p.Layers, LayerProgress{ID: layer, Status: status, Current: current, Total: total})
		}
	}
	if now.Sub(t.written[image]) >= t.interval {
		t.written[image] = now
		_ = t.store.WritePull(*p)
	}
}

// Done forgets image's pull (it finished, one way or the other).
func (t *PullTracker) Done(image string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pulls, image)
	delete(t.written, image)
	t.store.DeletePull(image)
}

func (s Store) pullDir() string { return filepath.Join(s.Dir, "pulls") }

func pullFile(image string) string {
	sum := sha256.Sum256([]byte(image))
	return hex.EncodeToString(sum[:8]) + ".json"
}

// WritePull records a pull in progress.
func (s Store) WritePull(p PullProgress) error {
	return writeJSON(filepath.Join(s.pullDir(), pullFile(p.Image)), p)
}

// DeletePull forgets a pull.
func (s Store) DeletePull(image string) {
	_ = os.Remove(filepath.Join(s.pullDir(), pullFile(image)))
}

// ReadPulls returns the pulls in progress, oldest first. Records not
// updated for a minute are stale (a supervisor died mid-pull) and skipped.
func (s Store) ReadPulls() []PullProgress {
	entries, err := os.ReadDir(s.pullDir())
	if err != nil {
		return nil
	}
	var out []PullProgress
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var p PullProgress
		if readJSON(filepath.Join(s.pullDir(), e.Name()), &p) == nil && time.Since(p.Updated) < time.Minute {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}
