package cri

import (
	"bufio"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
)

// sandboxOOMScoreAdj is the kubelet's score for pod infra containers.
const sandboxOOMScoreAdj = -998

// capSysResource is CAP_SYS_RESOURCE's bit number.
const capSysResource = 24

// oomPolicy decides whether negative OOM score adjustments can be applied.
// Without CAP_SYS_RESOURCE (containers, some VMs) runc fails to lower
// oom_score_adj, which would fail every pod: such scores are skipped with
// one warning.
type oomPolicy struct {
	canLower bool
	logger   *slog.Logger
	once     *sync.Once
}

func detectOOMPolicy(logger *slog.Logger) oomPolicy {
	return oomPolicy{canLower: hasCapability(capSysResource), logger: logger, once: new(sync.Once)}
}

// adjust returns the score to hand to Docker.
func (p oomPolicy) adjust(score int) int {
	if score >= 0 || p.canLower {
		return score
	}
	if p.once != nil {
		p.once.Do(func() {
			p.logger.Warn("no CAP_SYS_RESOURCE: negative OOM score adjustments are skipped for every sandbox and container",
				"requested", score)
		})
	}
	return 0
}

// hasCapability reads the effective capability set of this process.
func hasCapability(bit uint) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return true // not Linux /proc: let the engine decide
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return true
			}
			return mask&(1<<bit) != 0
		}
	}
	return true
}
