package cri_test

import (
	"context"
	"testing"

	"github.com/dockerlet/dockerlet/internal/cri"
	"github.com/dockerlet/dockerlet/internal/engine/cache"
	"github.com/dockerlet/dockerlet/internal/metrics"
	"github.com/dockerlet/dockerlet/internal/node"
)

func init() {
	cri.NewTestNode = func(tb testing.TB, o cri.TestNode) (*cri.Service, *cache.Cache, *metrics.Metrics) {
		tb.Helper()
		n, err := node.New(context.Background(), node.Options{
			Engine: o.Engine, RootDir: o.RootDir, Logger: o.Logger,
			Stats: o.Stats, Logs: o.Logs, NetworkPlugin: o.Network, PlainLists: o.PlainLists,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(n.Close)
		return n.Service, n.Engine, n.Metrics
	}
}
