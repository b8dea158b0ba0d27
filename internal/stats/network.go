package stats

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// netIf is one interface's counters from /proc/<pid>/net/dev.
type netIf struct {
	name                                  string
	rxBytes, rxPackets, rxErrors, rxDrops uint64
	txBytes, txPackets, txErrors, txDrops uint64
}

// readNetDev reads the counters of the network namespace pid lives in:
// /proc/<pid>/net/dev shows the process's own namespace, so no setns and no
// locked OS thread are needed.
func readNetDev(procRoot string, pid int) ([]netIf, error) {
	var out []netIf
	err := readFile(filepath.Join(procRoot, strconv.Itoa(pid), "net", "dev"), func(b []byte) error {
		var err error
		out, err = parseNetDev(b)
		return err
	})
	return out, err
}

// parseNetDev parses net/dev, leaving out the loopback device.
func parseNetDev(b []byte) ([]netIf, error) {
	var out []netIf
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue // the two header lines have "|" but no ":"
		}
		name := string(bytes.TrimSpace(line[:colon]))
		f := bytes.Fields(line[colon+1:])
		if len(f) < 16 {
			return nil, fmt.Errorf("net/dev line for %q has %d fields", name, len(f))
		}
		if name == "lo" {
			continue
		}
		var v [16]uint64
		for i := range v {
			v[i], _ = atou(f[i])
		}
		out = append(out, netIf{
			name:    name,
			rxBytes: v[0], rxPackets: v[1], rxErrors: v[2], rxDrops: v[3],
			txBytes: v[8], txPackets: v[9], txErrors: v[10], txDrops: v[11],
		})
	}
	return out, nil
}

// defaultInterface is eth0 when present (the pod network's), else the first.
func defaultInterface(ifs []netIf) int {
	for i, f := range ifs {
		if f.name == "eth0" {
			return i
		}
	}
	if len(ifs) > 0 {
		return 0
	}
	return -1
}

func networkUsage(ifs []netIf, now time.Time) *runtimeapi.NetworkUsage {
	n := &runtimeapi.NetworkUsage{Timestamp: now.UnixNano()}
	for _, f := range ifs {
		n.Interfaces = append(n.Interfaces, &runtimeapi.NetworkInterfaceUsage{
			Name:     f.name,
			RxBytes:  u64(f.rxBytes),
			RxErrors: u64(f.rxErrors),
			TxBytes:  u64(f.txBytes),
			TxErrors: u64(f.txErrors),
		})
	}
	if i := defaultInterface(ifs); i >= 0 {
		n.DefaultInterface = n.Interfaces[i]
	}
	return n
}
