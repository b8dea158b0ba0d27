package enginetest

import (
	"bytes"
	"sync"
)

// SyncBuffer collects what an engine stream (logs, attach, exec) writes
// from its own goroutine while the test polls String: a bytes.Buffer
// behind a mutex.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
