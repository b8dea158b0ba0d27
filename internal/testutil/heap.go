package testutil

import "runtime"

// LiveHeap is the heap still reachable: allocated bytes after two
// collections (the second frees what the first's finalizers released).
// Tests that bound what a long-lived object holds compare it before and
// after making many.
func LiveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
