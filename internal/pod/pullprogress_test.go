package pod

import "testing"

func TestPullTracker(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	tr := NewPullTracker(store)
	tr.interval = 0 // write every report
	tr.Observe("reg/app:1", "", "Pulling from app", 0, 0)
	tr.Observe("reg/app:1", "aaa", "Downloading", 10, 100)
	tr.Observe("reg/app:1", "bbb", "Waiting", 0, 0)
	tr.Observe("reg/app:1", "aaa", "Downloading", 50, 100)
	tr.Observe("reg/app:1", "aaa", "Pull complete", 0, 0)
	pulls := store.ReadPulls()
	if len(pulls) != 1 {
		t.Fatalf("pulls: %+v", pulls)
	}
	p := pulls[0]
	if p.Status != "Pulling from app" || len(p.Layers) != 2 || p.Layers[0].ID != "aaa" || p.Layers[0].Status != "Pull complete" || p.Layers[0].Current != 50 {
		t.Fatalf("progress: %+v", p)
	}
	tr.Done("reg/app:1")
	if pulls := store.ReadPulls(); len(pulls) != 0 {
		t.Fatalf("after Done: %+v", pulls)
	}
}
