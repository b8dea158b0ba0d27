package cri

import (
	"sync"
	"time"
)

// imageRefTTL bounds how long a container's image names (its first repo
// digest and first tag) are reused without asking Docker again. Pulls and removals made
// through this server forget every memo at once; the TTL only covers tags
// and digests that someone else changes with the docker CLI.
const imageRefTTL = 30 * time.Second

// imageRefMemoMax caps the memo; expired entries are dropped when it fills.
const imageRefMemoMax = 512

// imageRefMemo remembers image id → image names for ContainerStatus, which
// the kubelet calls for every changed container: without it each call is an
// image inspect on Docker. The zero value is ready to use.
type imageRefMemo struct {
	mu  sync.Mutex
	m   map[string]imageRefEntry
	gen uint64 // bumped by forget; a lookup that began before is not stored
}

// imageNames are the names of an image a container status reports.
type imageNames struct {
	ref string // first repo digest: the kubelet's imageID
	tag string // first repo tag
}

type imageRefEntry struct {
	names imageNames
	at    time.Time
}

// get returns the memoised names of id, and the generation to pass to put.
func (m *imageRefMemo) get(id string, now time.Time) (names imageNames, ok bool, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[id]
	if ok && now.Sub(e.at) < imageRefTTL {
		return e.names, true, m.gen
	}
	return imageNames{}, false, m.gen
}

// put stores names for id unless forget ran since the get that returned gen.
func (m *imageRefMemo) put(id string, names imageNames, gen uint64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		return
	}
	if m.m == nil {
		m.m = map[string]imageRefEntry{}
	}
	if len(m.m) >= imageRefMemoMax {
		for k, e := range m.m {
			if now.Sub(e.at) >= imageRefTTL {
				delete(m.m, k)
			}
		}
		if len(m.m) >= imageRefMemoMax {
			clear(m.m)
		}
	}
	m.m[id] = imageRefEntry{names: names, at: now}
}

// forget drops every memo: an image was pulled or removed.
func (m *imageRefMemo) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	clear(m.m)
}
