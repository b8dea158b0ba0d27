package cache

import (
	"errors"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
)

// The daemon's version is asked once per event subscription while synced,
// and asked again after the stream breaks (an upgraded daemon is seen).
func TestVersionRememberedPerSubscription(t *testing.T) {
	e := newEnv(t, Options{})
	eventually(t, "synced", e.cache.Synced)
	e.fake.SetVersion(engine.Version{Version: "20.10.24", APIVersion: "1.41"})
	base := e.fake.CallCount("Version")
	for range 5 {
		v, err := e.cache.Version(e.ctx)
		if err != nil || v.Version != "20.10.24" {
			t.Fatalf("Version = %+v, %v", v, err)
		}
	}
	if n := e.fake.CallCount("Version") - base; n != 1 {
		t.Fatalf("5 Version calls while synced reached the engine %d times, want 1", n)
	}

	// The daemon is replaced by a newer one: the stream ends, a new
	// subscription begins, and the new version is answered.
	e.fake.SetVersion(engine.Version{Version: "27.0.0", APIVersion: "1.46"})
	opened := e.wrap.Opened()
	e.wrap.Break(errors.New("daemon restarted"))
	eventually(t, "resubscribed and synced", func() bool { return e.wrap.Opened() > opened && e.cache.Synced() })
	v, err := e.cache.Version(e.ctx)
	if err != nil || v.Version != "27.0.0" {
		t.Fatalf("after reconnect Version = %+v, %v; want 27.0.0", v, err)
	}

}
