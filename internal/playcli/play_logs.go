package playcli

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"

	"github.com/dockerlet/dockerlet/internal/crilog"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// streamLogs follows every container's CRI log file of a's pods, each
// line prefixed with [pod/container], moving on to the new file when a
// container restarts, until ctx ends.
func streamLogs(ctx context.Context, store pod.Store, a *pod.Applied, out io.Writer) {
	var mu sync.Mutex // one line at a time
	following := map[string]string{}
	cancels := map[string]context.CancelFunc{}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		for _, s := range statusesOf(store, a) {
			for _, c := range append(append([]pod.ContainerStatus(nil), s.InitContainers...), s.Containers...) {
				k := s.Name + "/" + c.Name
				if c.LogPath == "" || following[k] == c.LogPath {
					continue
				}
				if cancel := cancels[k]; cancel != nil {
					// The old file is complete; give the reader a moment.
					go func() { time.Sleep(time.Second); cancel() }()
				}
				fctx, cancel := context.WithCancel(ctx)
				following[k], cancels[k] = c.LogPath, cancel
				w := &prefixWriter{mu: &mu, out: out, prefix: []byte("[" + k + "] ")}
				go func(path string) {
					_ = crilog.ReadLog(fctx, path, crilog.ReadOptions{Tail: crilog.AllLines, Follow: true}, w, w)
					w.flush()
				}(c.LogPath)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prefixWriter writes whole lines, each with a prefix.
type prefixWriter struct {
	mu     *sync.Mutex
	out    io.Writer
	prefix []byte
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.mu.Lock()
		_, err := w.out.Write(append(append([]byte(nil), w.prefix...), w.buf[:i+1]...))
		w.mu.Unlock()
		if err != nil {
			return len(p), err
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *prefixWriter) flush() {
	if len(w.buf) > 0 {
		_, _ = w.Write([]byte("\n"))
	}
}
