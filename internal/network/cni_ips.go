package network

import (
	"slices"
	"sync"
)

// ipsMemo remembers each CNI pod's addresses. The kubelet asks for a pod's
// status every few seconds, and reading them from libcni's cache meant
// reading the conf dir, a file and parsing its JSON each time: twice the
// cost of a docker-mode pod's status. A pod's addresses do not change
// while it is set up, and sandbox ids are never reused: the entry is made
// at SetUp (or at the first read after a restart) and dropped at TearDown.
type ipsMemo struct {
	mu sync.Mutex
	m  map[string][]string
}

// maxIPsMemo bounds the memo: an entry a read stored while its pod was
// being torn down would otherwise stay; past the bound it starts afresh.
const maxIPsMemo = 4096

func ipsKey(cacheDir, podID string) string { return cacheDir + "\x00" + podID }

// A nil memo (a plugin built by hand) remembers nothing.
func (m *ipsMemo) get(key string) ([]string, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ips, ok := m.m[key]
	return slices.Clone(ips), ok
}

func (m *ipsMemo) put(key string, ips []string) {
	if m == nil || len(ips) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxIPsMemo {
		m.m = map[string][]string{}
	}
	m.m[key] = slices.Clone(ips)
}

func (m *ipsMemo) drop(key string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}
