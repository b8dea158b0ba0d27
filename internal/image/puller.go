package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/keyring"
)

// PullEngine is the part of the engine the puller needs.
type PullEngine interface {
	Inspector
	PullImage(ctx context.Context, ref string, opts engine.PullOptions) error
}

// Puller pulls images with credentials: each candidate in turn, then
// confirms the image is present. Concurrent pulls of one image with the
// same credentials share a single engine pull. Safe for concurrent use.
type Puller struct {
	eng PullEngine
	log *slog.Logger

	mu       sync.Mutex
	inflight map[string]*pullCall
}

// NewPuller returns a puller over eng. A nil logger discards.
func NewPuller(eng PullEngine, log *slog.Logger) *Puller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Puller{eng: eng, log: log, inflight: map[string]*pullCall{}}
}

// pullCall is one shared engine pull and the callers waiting for it.
type pullCall struct {
	done    chan struct{}
	ref     string
	err     error
	cancel  context.CancelFunc
	waiters int // guarded by Puller.mu

	mu    sync.Mutex // guards watch
	watch []func(engine.Progress)
}

func (c *pullCall) progress(p engine.Progress) {
	c.mu.Lock()
	fns := slices.Clone(c.watch)
	c.mu.Unlock()
	for _, fn := range fns {
		if fn != nil {
			fn(p)
		}
	}
}

// Pull pulls ref and returns the pulled image's ID. creds are tried in
// order (as keyring.Lookup returns them); with none the pull is anonymous.
// progress, which may be nil, sees the engine's progress reports.
//
// A caller whose ctx ends stops waiting at once; the engine pull itself is
// cancelled only when every caller sharing it has gone.
func (p *Puller) Pull(ctx context.Context, ref string, creds []keyring.Credential, progress func(engine.Progress)) (string, error) {
	r, err := Parse(ref)
	if err != nil {
		return "", err
	}
	if r.IsID() {
		return "", fmt.Errorf("pull %q: an image ID cannot be pulled, name a repository: %w", ref, errdefs.ErrInvalidArgument)
	}
	key := r.String()
	for _, c := range creds {
		key += "\x00" + c.Identity()
	}

	p.mu.Lock()
	call, shared := p.inflight[key]
	var pullCtx context.Context
	if !shared {
		var cancel context.CancelFunc
		pullCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		call = &pullCall{done: make(chan struct{}), cancel: cancel}
		p.inflight[key] = call
	}
	// Watch before the pull starts, or a fast pull's first reports
	// reach nobody.
	call.waiters++
	call.mu.Lock()
	call.watch = append(call.watch, progress)
	idx := len(call.watch) - 1
	call.mu.Unlock()
	if !shared {
		go func() {
			defer call.cancel()
			imageRef, err := p.pull(pullCtx, ref, r, creds, call.progress)
			p.mu.Lock()
			if p.inflight[key] == call {
				delete(p.inflight, key)
			}
			p.mu.Unlock()
			call.ref, call.err = imageRef, err
			close(call.done)
		}()
	}
	p.mu.Unlock()
	if shared {
		p.log.Debug("joining an image pull in flight", "image", ref)
	}

	select {
	case <-call.done:
		return call.ref, call.err
	case <-ctx.Done():
		call.mu.Lock()
		call.watch[idx] = nil
		call.mu.Unlock()
		p.mu.Lock()
		call.waiters--
		if call.waiters == 0 {
			// Nobody waits any more: end the engine pull, and let a
			// later caller start afresh rather than join a dying pull.
			if p.inflight[key] == call {
				delete(p.inflight, key)
			}
			call.cancel()
		}
		p.mu.Unlock()
		return "", fmt.Errorf("pull %s: %w", ref, ctx.Err())
	}
}

// pull does the work of one shared Pull.
func (p *Puller) pull(ctx context.Context, ref string, r Ref, creds []keyring.Credential, progress func(engine.Progress)) (string, error) {
	pullRef := r.String()
	if len(creds) == 0 {
		p.log.Info("pulling image without credentials", "image", ref)
		err := p.eng.PullImage(ctx, pullRef, engine.PullOptions{Progress: progress})
		if err != nil {
			return "", anonymousError(ref, r, err)
		}
		return p.confirm(ctx, ref)
	}
	var errs []error
	for i, c := range creds {
		p.log.Info("pulling image", "image", ref, "credential", c, "attempt", i+1, "of", len(creds))
		auth := c.Auth
		err := p.eng.PullImage(ctx, pullRef, engine.PullOptions{Auth: &auth, Progress: progress})
		if err == nil {
			return p.confirm(ctx, ref)
		}
		if fatal := shortError(ref, err); fatal != nil {
			return "", fatal
		}
		errs = append(errs, fmt.Errorf("with credential %s: %w", c, err))
	}
	return "", fmt.Errorf("pull %s: every credential failed: %w", ref, errors.Join(errs...))
}

// confirm checks that a pull the engine called a success left the image.
func (p *Puller) confirm(ctx context.Context, ref string) (string, error) {
	id, err := ImageRef(ctx, p.eng, ref, false)
	if err != nil {
		return "", fmt.Errorf("pull %s: inspecting the pulled image: %w", ref, err)
	}
	if id == "" {
		return "", fmt.Errorf("pull %s: the engine reported success but the image is not present", ref)
	}
	return id, nil
}

// shortError returns the error to stop with when trying further
// credentials is pointless: the registry or engine is down, the request is
// invalid, or the caller gave up. A registry's 502/503/504 page becomes one
// short line instead of the HTML it came with.
func shortError(ref string, err error) error {
	switch {
	case errors.Is(err, engine.ErrRegistryUnavailable):
		return fmt.Errorf("pull %s: %w", ref, engine.ErrRegistryUnavailable)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, engine.ErrPullStalled), errdefs.IsUnavailable(err),
		errdefs.IsInvalidArgument(err):
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// anonymousError explains an anonymous pull failure; when a registry named
// explicitly refused or did not find the image, it says credentials may
// be what is missing.
func anonymousError(ref string, r Ref, err error) error {
	if short := shortError(ref, err); short != nil {
		return short
	}
	// Only a registry's refusal or a name it does not show may be about
	// credentials: a refused connection or a broken registry is not.
	if r.ExplicitDomain && (errdefs.IsUnauthorized(err) || errdefs.IsPermissionDenied(err) || errdefs.IsNotFound(err)) {
		return fmt.Errorf("pull %s: %w (pulled without credentials: credentials for %s may be missing)", ref, err, reference.Domain(r.Named))
	}
	return fmt.Errorf("pull %s: %w", ref, err)
}
