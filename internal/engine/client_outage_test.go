package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestDaemonGoingAwayIsUnavailable: a 500 answered on an open connection
// by a daemon that no longer accepts new ones (dockerd shutting down) is
// errdefs.ErrUnavailable; the same answer from a daemon that accepts is not.
func TestDaemonGoingAwayIsUnavailable(t *testing.T) {
	for _, closing := range []bool{true, false} {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Api-Version", "1.41")
			if r.URL.Path == "/_ping" {
				_, _ = w.Write([]byte("OK"))
				return
			}
			if closing {
				srv.Listener.Close() // what dockerd does first on SIGTERM
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"transport is closing: unavailable"}`))
		}))
		c, err := Connect("tcp://"+strings.TrimPrefix(srv.URL, "http://"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.StartContainer(context.Background(), "abc")
		if got := errors.Is(err, errdefs.ErrUnavailable); got != closing {
			t.Errorf("closing=%v: StartContainer error %v: errdefs.ErrUnavailable=%v, want %v", closing, err, got, closing)
		}
		if err == nil || !strings.Contains(err.Error(), "transport is closing") {
			t.Errorf("closing=%v: error %v lost the daemon's message", closing, err)
		}
		_ = c.Close()
		srv.Close()
	}
}
