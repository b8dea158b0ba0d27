package engine

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/containerd/errdefs"
)

// followBufSize is the read buffer of a followed log's connection. It
// holds HTTP headers and chunk-size lines (a header line longer than it is
// still read whole); a chunk's data is read straight into the caller's
// larger buffer, so a small one costs nothing in throughput and ~2 KiB less
// per running container than the usual 4 KiB.
const followBufSize = 256

// followLogs answers ContainerLogs with Follow on a connection of its own
// that the caller's goroutine reads directly. Through the moby client's
// HTTP transport every followed log would hold that transport's two
// goroutines and its 8 KiB read and 4 KiB write buffers for the
// container's whole life: at 110 pods a node's log copiers were ~4 MiB of
// dockerlet's memory. ok is false when the options need the
// client's own handling (a Since it would translate, Until, Tail).
func (c *Client) followLogs(ctx context.Context, id string, opts LogsOptions) (rc io.ReadCloser, ok bool, err error) {
	if !opts.Follow || opts.Until != "" || opts.Tail != "" || !unixSeconds(opts.Since) {
		return nil, false, nil
	}
	if strings.ContainsAny(id, "/?#") || id == "" {
		return nil, true, classify("logs of container "+id, fmt.Errorf("invalid container id %q: %w", id, errdefs.ErrInvalidArgument))
	}
	q := url.Values{"follow": {"1"}}
	if opts.Stdout {
		q.Set("stdout", "1")
	}
	if opts.Stderr {
		q.Set("stderr", "1")
	}
	if opts.Timestamps {
		q.Set("timestamps", "1")
	}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	rc, err = c.rawGet(ctx, "/containers/"+id+"/logs", q, followBufSize)
	if err != nil {
		return nil, true, classify("logs of container "+id, err)
	}
	return rc, true, nil
}

// unixSeconds reports whether s is empty or Docker's "seconds[.nanos]",
// which the API takes as is.
func unixSeconds(s string) bool {
	secs, nanos, _ := strings.Cut(s, ".")
	return allDigits(secs) && (nanos == "" || allDigits(nanos)) || s == ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
