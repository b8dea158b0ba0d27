package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
)

// stubDaemon is a minimal Docker API on 127.0.0.1 for logic that needs no
// real engine: it speaks API 1.41 and serves handlers by path suffix.
func stubDaemon(t *testing.T, routes map[string]http.HandlerFunc, opts Options) *Client {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		if r.URL.Path == "/_ping" {
			_, _ = w.Write([]byte("OK"))
			return
		}
		for suffix, h := range routes {
			if strings.HasSuffix(r.URL.Path, suffix) {
				h(w, r)
				return
			}
		}
		if strings.HasSuffix(r.URL.Path, "/hang") {
			<-release
			return
		}
		http.Error(w, `{"message":"no such route"}`, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := Connect("tcp://"+strings.TrimPrefix(srv.URL, "http://"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func writeMessages(w http.ResponseWriter, msgs ...jsonstream.Message) {
	enc := json.NewEncoder(w)
	for _, m := range msgs {
		_ = enc.Encode(m)
		w.(http.Flusher).Flush()
	}
}

func TestPullStreamOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		msgs     []jsonstream.Message
		want     error
		wantText string
	}{
		{"success", []jsonstream.Message{{Status: "Pulling from x"}, {ID: "l1", Status: "Downloading", Progress: &jsonstream.Progress{Current: 1, Total: 2}}, {Status: "Status: Downloaded newer image"}}, nil, ""},
		{"503 in stream", []jsonstream.Message{{Status: "Pulling from x"}, {Error: &jsonstream.Error{Code: 503, Message: "<html>busy</html>"}}}, ErrRegistryUnavailable, "HTTP 503"},
		{"unauthorized in stream", []jsonstream.Message{{Error: &jsonstream.Error{Message: "unauthorized: authentication required"}}}, errdefs.ErrUnauthenticated, "authentication required"},
		{"manifest unknown in stream", []jsonstream.Message{{Error: &jsonstream.Error{Message: "manifest unknown"}}}, errdefs.ErrNotFound, "manifest unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stubDaemon(t, map[string]http.HandlerFunc{
				"/images/create": func(w http.ResponseWriter, r *http.Request) { writeMessages(w, tc.msgs...) },
			}, Options{})
			var got []Progress
			err := c.PullImage(context.Background(), "127.0.0.1:5999/x:1", PullOptions{Progress: func(p Progress) { got = append(got, p) }})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 3 || got[1].Layer != "l1" || got[1].Current != 1 || got[1].Total != 2 || got[1].Image != "127.0.0.1:5999/x:1" {
					t.Fatalf("progress %+v", got)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantText) || strings.Contains(err.Error(), "<html>") {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.wantText)
			}
		})
	}
}

func TestPullDeadlineResetsOnProgress(t *testing.T) {
	const deadline = 300 * time.Millisecond
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/images/create": func(w http.ResponseWriter, r *http.Request) {
			// Slow but steady: each gap is below the deadline, the total above.
			for i := range 6 {
				writeMessages(w, jsonstream.Message{ID: "l1", Status: "Downloading", Progress: &jsonstream.Progress{Current: int64(i)}})
				time.Sleep(deadline / 3)
			}
		},
	}, Options{PullProgressDeadline: deadline})
	if err := c.PullImage(context.Background(), "x", PullOptions{}); err != nil {
		t.Fatalf("a pull with steady progress was cancelled: %v", err)
	}
}

func TestPullStallsBeforeFirstMessage(t *testing.T) {
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/images/create": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	}, Options{PullProgressDeadline: 200 * time.Millisecond})
	err := c.PullImage(context.Background(), "busybox", PullOptions{})
	if !errors.Is(err, ErrPullStalled) || !strings.Contains(err.Error(), "busybox") || !strings.Contains(err.Error(), "200ms") {
		t.Fatalf("got %v, want ErrPullStalled naming image and deadline", err)
	}
}

func TestPullCallerCancelIsNotAStall(t *testing.T) {
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/images/create": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	}, Options{PullProgressDeadline: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.PullImage(ctx, "busybox", PullOptions{})
	if errors.Is(err, ErrPullStalled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded from the caller's deadline", err)
	}
	if err := c.PullImage(context.Background(), "Bad Ref!", PullOptions{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("malformed reference: %v, want errdefs.ErrInvalidArgument", err)
	}
}

func TestRequestTimeoutBoundsShortCalls(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/containers/abc/json": hang,
		"/containers/abc/stop": hang,
	}, Options{RequestTimeout: 100 * time.Millisecond})
	if _, err := c.InspectContainer(context.Background(), "abc"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("inspect against a hung daemon: %v, want context.DeadlineExceeded", err)
	}
	// Stop gets the request timeout plus its own stop timeout.
	start := time.Now()
	if err := c.StopContainer(context.Background(), "abc", 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop against a hung daemon: %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("stop gave up before request timeout + stop timeout")
	}
}

func TestEventsMapping(t *testing.T) {
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/events": func(w http.ResponseWriter, r *http.Request) {
			if f := r.URL.Query().Get("filters"); !strings.Contains(f, `"type":{"container":true}`) || !strings.Contains(f, `"label":{"a=b":true}`) {
				http.Error(w, `{"message":"bad filters `+f+`"}`, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"3"}},"time":1700000000,"timeNano":1700000000123456789}` + "\n"))
		},
	}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, errc := c.Events(ctx, EventsOptions{Labels: []string{"a=b"}})
	select {
	case e := <-events:
		if e.ContainerID != "abc" || e.Action != "die" || e.Attributes["exitCode"] != "3" || e.Time.UnixNano() != 1700000000123456789 {
			t.Fatalf("event %+v", e)
		}
	case err := <-errc:
		t.Fatalf("stream failed: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	// The stub closes the stream: exactly one error arrives.
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("stream end: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error at stream end")
	}
}

// A daemon that does not answer a pull at all (hung) fails it after the
// request timeout when that is shorter than the progress deadline, as any
// other call to it fails.
func TestPullUnansweredAfterRequestTimeout(t *testing.T) {
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/images/create": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	}, Options{PullProgressDeadline: time.Hour, RequestTimeout: 200 * time.Millisecond})
	start := time.Now()
	err := c.PullImage(context.Background(), "busybox", PullOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPullStalled) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("got %v, want context.DeadlineExceeded saying dockerd did not answer", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
