package network

import "time"

// CNI operations, as CNIMetrics names them. dockerlet runs no CHECK: the
// CRI has no call that asks for one.
const (
	CNIAdd = "add"
	CNIDel = "del"
)

// CNIOperations are the operations CNIMetrics is told of.
var CNIOperations = []string{CNIAdd, CNIDel}

// CNIMetrics is told of every CNI operation dockerlet runs (the pod's
// network list, one call each): which, how long it took, and its error
// (nil: success).
type CNIMetrics interface {
	CNIOperation(op string, d time.Duration, err error)
}

func (p *cniPlugin) observe(op string, start time.Time, err error) {
	if p.metrics != nil {
		p.metrics.CNIOperation(op, time.Since(start), err)
	}
}
