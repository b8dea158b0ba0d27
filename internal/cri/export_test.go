package cri

import (
	"log/slog"
	"testing"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/metrics"
)

// TestNode is what the CRI tests vary of a node built as serve builds
// it; nil members take the harness's defaults.
type TestNode struct {
	Engine  engine.Engine // under the cache
	RootDir string
	Logger  *slog.Logger
	Stats   StatsCollector
	Logs    LogManager
	Network NetworkPlugin
	// PlainLists switches the List fast path off.
	PlainLists bool
}

// NewTestNode builds a Service through internal/node, the constructor
// serve uses, and returns it with the cache it stands on and the metrics
// that count what reached the engine under that cache; it stops with the
// test. node_test.go (package cri_test) sets it: internal/node
// imports this package, so only the external test package may import it.
var NewTestNode func(testing.TB, TestNode) (*Service, *cache.Cache, *metrics.Metrics)
