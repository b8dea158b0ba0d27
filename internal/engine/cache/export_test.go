package cache

import "github.com/moby/moby/api/types/container"

// MeasureCPU is measureCPU for the external benchmarks.
var MeasureCPU = measureCPU

// SharedRecord is a live entry's shared snapshot and inspect record.
type SharedRecord struct {
	Shared  *Shared
	Inspect *container.InspectResponse
}

// SharedRecords returns every live entry's shared records as they are
// (live) and as deep copies taken now (copies), to check that readers
// leave them unmodified.
func SharedRecords(c *Cache) (live map[string]SharedRecord, copies map[string][2]any) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	live, copies = map[string]SharedRecord{}, map[string][2]any{}
	for id, e := range c.entries {
		if e.live() {
			live[id] = SharedRecord{e.shared, e.inspect}
			copies[id] = [2]any{deepCopy(e.summary), deepCopy(*e.inspect)}
		}
	}
	return live, copies
}
