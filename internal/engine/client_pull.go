package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// PullImage implements Engine. It reads Docker's progress stream, hands
// each message to opts.Progress, and cancels the pull with ErrPullStalled
// when no message arrives within the progress deadline. The whole pull is
// otherwise bounded only by ctx: large images may take long.
func (c *Client) PullImage(ctx context.Context, ref string, opts PullOptions) error {
	op := "pull image " + ref
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return &Error{Op: op, Kind: errdefs.ErrInvalidArgument, Err: err}
	}
	var encAuth string
	if opts.Auth != nil {
		if encAuth, err = authconfig.Encode(*opts.Auth); err != nil {
			return &Error{Op: op, Kind: errdefs.ErrInvalidArgument, Err: err}
		}
	}

	deadline := c.opts.PullProgressDeadline
	stalled := &Error{Op: op, Kind: ErrPullStalled, Err: fmt.Errorf("no progress for %s, cancelled", deadline)}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Docker answers with its first progress line as soon as it has looked
	// the image up: a daemon that does not answer within the request
	// timeout is hung (or overloaded), and the pull fails as any other
	// call to it would, rather than after the progress deadline.
	first := min(deadline, c.opts.RequestTimeout)
	unanswered := &Error{Op: op, Kind: context.DeadlineExceeded, Err: fmt.Errorf("dockerd did not answer within %s", first)}
	var answered atomic.Bool
	watchdog := time.AfterFunc(first, func() {
		if answered.Load() || first == deadline {
			cancel(stalled)
		} else {
			cancel(unanswered)
		}
	})
	defer watchdog.Stop()

	resp, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: encAuth})
	if err != nil {
		return c.pullError(ctx, op, named, err)
	}
	answered.Store(true)
	watchdog.Reset(deadline)
	defer resp.Close()
	dec := json.NewDecoder(resp)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return c.pullError(ctx, op, named, err)
		}
		watchdog.Reset(deadline)
		if m.Error != nil {
			return c.pullError(ctx, op, named, streamError{code: m.Error.Code, msg: m.Error.Message})
		}
		if opts.Progress != nil {
			p := Progress{Image: ref, Layer: m.ID, Status: m.Status}
			if m.Progress != nil {
				p.Current, p.Total = m.Progress.Current, m.Progress.Total
			}
			opts.Progress(p)
		}
	}
}

// streamError is an error Docker reported inside the pull stream.
type streamError struct {
	code int
	msg  string
}

func (e streamError) Error() string { return e.msg }

var (
	gatewayStatus  = regexp.MustCompile(`\b(50[234])\b|Bad Gateway|Service Unavailable|Gateway Time-?out`)
	unauthText     = regexp.MustCompile(`(?i)unauthorized|authentication required|no basic auth credentials|access denied|denied:`)
	registryDenied = regexp.MustCompile(`\b(401 Unauthorized|403 Forbidden)\b`)
	// Docker 29 passes the registry's error codes through (NAME_UNKNOWN).
	notFoundText = regexp.MustCompile(`(?i)manifest[ _]unknown|not found|name[ _]unknown|does not exist`)
)

// pullError classifies a failed pull: a stall (our own cancellation), a
// registry gateway failure (502/503/504, reported in one short line, never
// the registry's HTML page), unauthorized, not found, then the general
// classification.
func (c *Client) pullError(ctx context.Context, op string, named reference.Named, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrPullStalled) || errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	msg := err.Error()
	var se streamError
	errors.As(err, &se)
	if code := gatewayCode(se.code, msg); code != 0 {
		c.log.Debug("registry unavailable", "op", op, "detail", truncate(msg, 300))
		return &Error{Op: op, Kind: ErrRegistryUnavailable,
			Err: fmt.Errorf("registry %s answered HTTP %d %s", reference.Domain(named), code, statusText(code))}
	}
	// The registry's own 401/403, quoted by Docker 29's containerd image
	// store inside an error of another status.
	if registryDenied.MatchString(msg) {
		return &Error{Op: op, Kind: errdefs.ErrUnauthenticated, Err: shortError(msg)}
	}
	if k := kindOf(err); k != nil {
		return &Error{Op: op, Kind: k, Err: shortError(msg)}
	}
	switch {
	case unauthText.MatchString(msg):
		return &Error{Op: op, Kind: errdefs.ErrUnauthenticated, Err: shortError(msg)}
	case notFoundText.MatchString(msg):
		return &Error{Op: op, Kind: errdefs.ErrNotFound, Err: shortError(msg)}
	}
	return classify(op, err)
}

// gatewayCode returns 502, 503 or 504 when the error reports one.
func gatewayCode(code int, msg string) int {
	if code == 502 || code == 503 || code == 504 {
		return code
	}
	m := gatewayStatus.FindStringSubmatch(msg)
	switch {
	case m == nil:
		return 0
	case m[1] != "":
		n, _ := strconv.Atoi(m[1])
		return n
	case strings.Contains(m[0], "Bad Gateway"):
		return 502
	case strings.Contains(m[0], "Service Unavailable"):
		return 503
	default:
		return 504
	}
}

func statusText(code int) string {
	switch code {
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	default:
		return "Gateway Timeout"
	}
}

// shortError keeps a daemon message readable: one line, bounded.
func shortError(msg string) error {
	msg = strings.Join(strings.Fields(msg), " ")
	return errors.New(truncate(msg, 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
