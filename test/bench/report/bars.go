package main

import (
	"fmt"
	"math"
)

// bar is one of the project's performance bars, checked on a mode's run.
type bar struct {
	name  string
	value float64
	limit float64
	unit  string // "ms", "MiB", "%", "×"
}

func (b bar) verdict() string {
	switch {
	case math.IsNaN(b.value):
		return "not measured"
	case b.value <= b.limit:
		return "met"
	default:
		return "MISSED"
	}
}

// bars are the bars this run can check: dockerlet alone at 110 and 250
// pods, the burst against the Docker API, and side by side with the peer.
func bars(m *mode) []bar {
	s, p := m.self, m.peer
	var out []bar
	if point(s, 110) != nil {
		out = append(out,
			bar{"ListPodSandbox p50 at 110 pods", callP50(s, 110, "ListPodSandbox"), 1, "ms"},
			bar{"ListContainers p50 at 110 pods", callP50(s, 110, "ListContainers"), 1, "ms"},
			bar{"PodSandboxStatus p50 at 110 pods", callP50(s, 110, "PodSandboxStatus"), 0.5, "ms"},
			bar{"ContainerStatus p50 at 110 pods", callP50(s, 110, "ContainerStatus"), 0.5, "ms"},
			bar{"RSS at 110 pods", rssMax(s, 110), 30, "MiB"},
			bar{"CPU polled at 110 pods", cpuPct(s, 110, s.Runtime, true), 0.5, "%"},
		)
	}
	if point(s, 250) != nil {
		out = append(out,
			bar{"ListPodSandbox p50 at 250 pods", callP50(s, 250, "ListPodSandbox"), 1.5, "ms"},
			bar{"ListContainers p50 at 250 pods", callP50(s, 250, "ListContainers"), 1.5, "ms"},
			bar{"PodSandboxStatus p50 at 250 pods", callP50(s, 250, "PodSandboxStatus"), 0.5, "ms"},
			bar{"ContainerStatus p50 at 250 pods", callP50(s, 250, "ContainerStatus"), 0.5, "ms"},
			bar{"ListContainerStats p50 at 250 pods", callP50(s, 250, "ListContainerStats"), 30, "ms"},
			bar{"RSS at 250 pods", rssMax(s, 250), 35, "MiB"},
			bar{"CPU polled at 250 pods", cpuPct(s, 250, s.Runtime, true), 0.6, "%"},
		)
	}
	if len(m.selfBursts) > 0 {
		name := fmt.Sprintf("burst of %d at %d: all Running / Docker-API floor", m.burstPods, m.burstParallel)
		out = append(out, bar{name, ratio(median(m.selfBursts), median(m.floorBursts)), 1.15, "×"})
		if len(m.peerBursts) > 0 {
			name := fmt.Sprintf("burst of %d at %d: all Running / %s's", m.burstPods, m.burstParallel, p.Runtime)
			out = append(out, bar{name, ratio(median(m.selfBursts), median(m.peerBursts)), 0.9, "×"})
		}
	}
	if p != nil && point(s, 110) != nil && point(p, 110) != nil {
		out = append(out,
			bar{"relist at 110 pods / " + p.Runtime + "'s", ratio(relist(s, 110), relist(p, 110)), 0.2, "×"},
			bar{"RSS at 110 pods / " + p.Runtime + "'s", ratio(rssMax(s, 110), rssMax(p, 110)), 0.6, "×"},
			bar{"CPU polled at 110 pods / " + p.Runtime + "'s", ratio(cpuPct(s, 110, s.Runtime, true), cpuPct(p, 110, p.Runtime, true)), 0.4, "×"},
		)
		if m.name == "cni" {
			td, ptd := segments(s, 110, true), segments(p, 110, true)
			su, psu := segments(s, 110, false), segments(p, 110, false)
			out = append(out,
				bar{"teardown wall per pod (≤ 110 pods) / " + p.Runtime + "'s", ratio(segP50(td, "Teardown(total)"), segP50(ptd, "Teardown(total)")), 1.0, "×"},
				bar{"teardown CPU per pod (≤ 110 pods) / " + p.Runtime + "'s", ratio(segCPU(td, s.Runtime, false), segCPU(ptd, p.Runtime, false)), 0.8, "×"},
				bar{"start-up CPU per pod (≤ 110 pods) / " + p.Runtime + "'s", ratio(segCPU(su, s.Runtime, false), segCPU(psu, p.Runtime, false)), 1.0, "×"},
			)
		}
	}
	return out
}
