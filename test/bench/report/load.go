package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/dockerlet/dockerlet/test/bench/result"
)

// mode is everything one network mode's directory holds
// (bin/bench/<mode>/, as scripts/bench.sh writes it).
type mode struct {
	name  string
	self  *result.Result // dockerlet
	peer  *result.Result // nil without BENCH_PEER
	floor []float64      // start-up through the Docker API, one pod at a time, before and after
	// bursts, one per round; the floor's, dockerlet's and the peer's
	floorBursts, selfBursts, peerBursts []float64
	burstPods, burstParallel            int
}

func loadMode(dir string) (*mode, error) {
	m := &mode{name: filepath.Base(dir)}
	var err error
	if m.self, err = loadResult(filepath.Join(dir, "dockerlet.json")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "peer.json")); err == nil {
		if m.peer, err = loadResult(filepath.Join(dir, "peer.json")); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"floor.json", "floor-after.json"} {
		var fl result.Floor
		if err := loadJSON(filepath.Join(dir, f), &fl); err == nil {
			m.floor = append(m.floor, fl.SamplesMS...)
		}
	}
	bursts, _ := filepath.Glob(filepath.Join(dir, "burst", "floor-*.json"))
	slices.Sort(bursts)
	for _, f := range bursts {
		var fl result.Floor
		if err := loadJSON(f, &fl); err != nil {
			return nil, err
		}
		m.floorBursts = append(m.floorBursts, fl.AllRunningMS)
		m.burstPods, m.burstParallel = fl.N, fl.Parallel
	}
	for _, who := range []struct {
		glob string
		into *[]float64
	}{{"dockerlet-*.json", &m.selfBursts}, {"peer-*.json", &m.peerBursts}} {
		files, _ := filepath.Glob(filepath.Join(dir, "burst", who.glob))
		slices.Sort(files)
		for _, f := range files {
			r, err := loadResult(f)
			if err != nil {
				return nil, err
			}
			for _, b := range r.Bursts {
				*who.into = append(*who.into, b.AllRunning)
				m.burstPods, m.burstParallel = b.Pods, b.Parallel
			}
		}
	}
	return m, nil
}

func loadResult(path string) (*result.Result, error) {
	var r result.Result
	if err := loadJSON(path, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func loadJSON(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}
