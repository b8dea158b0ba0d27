package image

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/keyring"
)

func cred(user, pw string) keyring.Credential {
	return keyring.Credential{Source: "test", Registry: "r", Auth: registry.AuthConfig{Username: user, Password: pw}}
}

func TestPullAnonymous(t *testing.T) {
	f := fake.New()
	if err := f.AllowPull("busybox:1", nil); err != nil {
		t.Fatal(err)
	}
	var reports []engine.Progress
	id, err := NewPuller(f, nil).Pull(context.Background(), "busybox:1", nil, func(p engine.Progress) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	img, err := f.InspectImageByRef(context.Background(), "busybox:1")
	if err != nil || id != img.ID {
		t.Fatalf("Pull returned %q; image %v, %v", id, img, err)
	}
	if len(reports) == 0 {
		t.Error("no progress reached the callback")
	}
}

func TestPullTriesEachCredential(t *testing.T) {
	f := fake.New()
	must(t, f.AllowPull("r.example.com/app:1", nil))
	must(t, f.RequirePullAuth("r.example.com/app", "good", "pw"))
	p := NewPuller(f, nil)

	id, err := p.Pull(context.Background(), "r.example.com/app:1", []keyring.Credential{cred("bad", "x"), cred("good", "pw"), cred("never", "used")}, nil)
	if err != nil || id == "" {
		t.Fatalf("Pull = %q, %v", id, err)
	}
	if n := f.CallCount("PullImage"); n != 2 {
		t.Errorf("PullImage called %d times, want 2 (stop at the first that works)", n)
	}
}

func TestPullAggregatesErrors(t *testing.T) {
	f := fake.New()
	must(t, f.AllowPull("r.example.com/app:1", nil))
	must(t, f.RequirePullAuth("r.example.com/app", "good", "pw"))
	_, err := NewPuller(f, nil).Pull(context.Background(), "r.example.com/app:1",
		[]keyring.Credential{cred("alice", "secret-a"), cred("bob", "secret-b")}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if !errdefs.IsUnauthorized(err) {
		t.Errorf("err = %v, want Unauthenticated inside", err)
	}
	msg := err.Error()
	for _, want := range []string{"alice", "bob", "every credential failed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, secret := range []string{"secret-a", "secret-b"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error reveals a password: %q", msg)
		}
	}
	if n := f.CallCount("PullImage"); n != 2 {
		t.Errorf("PullImage called %d times, want 2", n)
	}
}

func TestPullRegistryUnavailable(t *testing.T) {
	html := "<html><body><svg>" + strings.Repeat("x", 2000) + "</svg>502 Bad Gateway</body></html>"
	for _, creds := range [][]keyring.Credential{nil, {cred("a", "1"), cred("b", "2")}} {
		f := fake.New()
		f.InjectPersistentError("PullImage", fmt.Errorf("%s: %w", html, engine.ErrRegistryUnavailable))
		_, err := NewPuller(f, nil).Pull(context.Background(), "r.example.com/app:1", creds, nil)
		if !errors.Is(err, engine.ErrRegistryUnavailable) {
			t.Fatalf("creds %d: err = %v, want ErrRegistryUnavailable", len(creds), err)
		}
		if strings.Contains(err.Error(), "<html>") || len(err.Error()) > 120 {
			t.Errorf("creds %d: error is not short: %q", len(creds), err)
		}
		if n := f.CallCount("PullImage"); n != 1 {
			t.Errorf("creds %d: PullImage called %d times, want 1 (an unavailable registry ends the attempts)", len(creds), n)
		}
	}
}

// vanishingEngine reports pull success but never stores the image.
type vanishingEngine struct{ *fake.Fake }

func (vanishingEngine) PullImage(context.Context, string, engine.PullOptions) error { return nil }

func TestPullSuccessWithoutImageIsAnError(t *testing.T) {
	for _, creds := range [][]keyring.Credential{nil, {cred("a", "1")}} {
		_, err := NewPuller(vanishingEngine{fake.New()}, nil).Pull(context.Background(), "busybox:1", creds, nil)
		if err == nil || !strings.Contains(err.Error(), "image is not present") {
			t.Errorf("creds %d: err = %v, want 'image is not present'", len(creds), err)
		}
	}
}

// refusedEngine fails every pull as dockerd does when nothing listens
// on the registry's port.
type refusedEngine struct{ *fake.Fake }

func (refusedEngine) PullImage(_ context.Context, ref string, _ engine.PullOptions) error {
	return &engine.Error{Op: "pull image " + ref, Kind: errdefs.ErrUnknown,
		Err: errors.New(`Error response from daemon: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused`)}
}

// TestPullRefusedIsNotAboutCredentials: a registry that is not there is
// not reported as missing credentials.
func TestPullRefusedIsNotAboutCredentials(t *testing.T) {
	_, err := NewPuller(refusedEngine{fake.New()}, nil).Pull(context.Background(), "127.0.0.1:5999/app:1", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "credentials") {
		t.Fatalf("err = %v, want the refused connection and no word of credentials", err)
	}
}

func TestPullAnonymousFailureHint(t *testing.T) {
	tests := []struct {
		ref      string
		wantHint bool
	}{
		{"localhost:5000/private:1", true},
		{"r.example.com/team/app:1", true},
		{"docker.io/library/busybox:1", true},
		{"busybox:1", false},
		{"myorg/app:1", false},
	}
	for _, tt := range tests {
		f := fake.New() // nothing allowed: the pull fails with not found
		_, err := NewPuller(f, nil).Pull(context.Background(), tt.ref, nil, nil)
		if err == nil {
			t.Fatalf("%s: no error", tt.ref)
		}
		hint := strings.Contains(err.Error(), "credentials for") && strings.Contains(err.Error(), "may be missing")
		if hint != tt.wantHint {
			t.Errorf("%s: hint %v, want %v: %v", tt.ref, hint, tt.wantHint, err)
		}
		if !errdefs.IsNotFound(err) {
			t.Errorf("%s: err %v lost its kind", tt.ref, err)
		}
	}
	// With credentials there is no such hint: they were tried.
	f := fake.New()
	_, err := NewPuller(f, nil).Pull(context.Background(), "localhost:5000/private:1", []keyring.Credential{cred("a", "b")}, nil)
	if err == nil || strings.Contains(err.Error(), "may be missing") {
		t.Errorf("credentialed failure: %v", err)
	}
}

func TestPullRejectsIDs(t *testing.T) {
	for _, ref := range []string{"sha256:" + idHex, idHex, "", "Bad Ref"} {
		_, err := NewPuller(fake.New(), nil).Pull(context.Background(), ref, nil, nil)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("Pull(%q) err = %v, want ErrInvalidArgument", ref, err)
		}
	}
}

// gatedEngine blocks every PullImage until release is closed.
type gatedEngine struct {
	*fake.Fake
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	pulls   int
	ctxErr  error
}

func newGated() *gatedEngine {
	return &gatedEngine{Fake: fake.New(), entered: make(chan struct{}, 10), release: make(chan struct{})}
}

func (g *gatedEngine) PullImage(ctx context.Context, ref string, opts engine.PullOptions) error {
	g.mu.Lock()
	g.pulls++
	g.mu.Unlock()
	g.entered <- struct{}{}
	if opts.Progress != nil {
		opts.Progress(engine.Progress{Image: ref, Status: "Downloading"})
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		g.mu.Lock()
		g.ctxErr = ctx.Err()
		g.mu.Unlock()
		return fmt.Errorf("pull: %w", ctx.Err())
	}
	return g.Fake.PullImage(ctx, ref, opts)
}

func (g *gatedEngine) pullCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pulls
}

// waitWaiters waits until the in-flight pull has n callers.
func waitWaiters(t *testing.T, p *Puller, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		got := 0
		for _, c := range p.inflight {
			got += c.waiters
		}
		p.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never saw %d callers waiting", n)
}

func TestConcurrentPullsShareOneEnginePull(t *testing.T) {
	g := newGated()
	must(t, g.AllowPull("busybox:1", nil))
	p := NewPuller(g, nil)
	type result struct {
		id       string
		err      error
		progress int
	}
	results := make(chan result, 3)
	for _, ref := range []string{"busybox:1", "docker.io/library/busybox:1", "index.docker.io/library/busybox:1"} {
		go func() {
			var n int
			var mu sync.Mutex
			id, err := p.Pull(context.Background(), ref, nil, func(engine.Progress) { mu.Lock(); n++; mu.Unlock() })
			mu.Lock()
			defer mu.Unlock()
			results <- result{id, err, n}
		}()
	}
	<-g.entered
	waitWaiters(t, p, 3)
	close(g.release)
	var ids []string
	for range 3 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		ids = append(ids, r.id)
	}
	if g.pullCount() != 1 {
		t.Errorf("engine pulls = %d, want 1 shared pull", g.pullCount())
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("callers got different results: %v", ids)
	}
}

func TestPullsWithDifferentCredentialsAreNotShared(t *testing.T) {
	g := newGated()
	must(t, g.AllowPull("busybox:1", nil))
	p := NewPuller(g, nil)
	errs := make(chan error, 2)
	for _, c := range []keyring.Credential{cred("a", "1"), cred("b", "2")} {
		go func() {
			_, err := p.Pull(context.Background(), "busybox:1", []keyring.Credential{c}, nil)
			errs <- err
		}()
	}
	<-g.entered
	<-g.entered // both reached the engine: not deduplicated
	close(g.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPullCancellation(t *testing.T) {
	g := newGated()
	must(t, g.AllowPull("busybox:1", nil))
	p := NewPuller(g, nil)

	ctx1, cancel1 := context.WithCancel(context.Background())
	err1 := make(chan error, 1)
	go func() { _, err := p.Pull(ctx1, "busybox:1", nil, nil); err1 <- err }()
	<-g.entered
	err2 := make(chan error, 1)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _, err := p.Pull(ctx2, "busybox:1", nil, nil); err2 <- err }()
	waitWaiters(t, p, 2)

	// The first caller leaves; the shared pull goes on for the second.
	cancel1()
	if err := <-err1; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: err = %v, want context.Canceled", err)
	}
	close(g.release)
	if err := <-err2; err != nil {
		t.Fatalf("second caller: %v (the first caller's cancel must not end a shared pull)", err)
	}

	// A lone caller leaving cancels the engine pull.
	g2 := newGated()
	must(t, g2.AllowPull("busybox:1", nil))
	p2 := NewPuller(g2, nil)
	ctx3, cancel3 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p2.Pull(ctx3, "busybox:1", nil, nil); done <- err }()
	<-g2.entered
	cancel3()
	<-done
	deadline := time.Now().Add(10 * time.Second)
	for {
		g2.mu.Lock()
		ctxErr := g2.ctxErr
		g2.mu.Unlock()
		if ctxErr != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("engine pull not cancelled after its only caller left")
		}
		time.Sleep(time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A pull that reports at once must still reach its caller's watcher: the
// watcher is registered before the pull starts (CI once lost every report
// of a fake pull to that race).
func TestPullProgressFromFirstReport(t *testing.T) {
	for i := range 300 {
		f := fake.New()
		if err := f.AllowPull("busybox:1", nil); err != nil {
			t.Fatal(err)
		}
		var first string
		_, err := NewPuller(f, nil).Pull(context.Background(), "busybox:1", nil, func(p engine.Progress) {
			if first == "" {
				first = p.Status
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first, "Pulling from") {
			t.Fatalf("pull %d: first report seen %q, want the engine's first", i, first)
		}
	}
}
