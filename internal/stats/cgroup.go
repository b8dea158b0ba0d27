package stats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/sys/mountinfo"
)

// Why not a cgroup library on the request path: containerd/cgroups' and
// opencontainers/cgroups' Stat read every controller a cgroup has (blkio,
// hugetlb, pids, rdma, per-CPU usage, …), a few dozen files and allocations
// per call. ContainerStats needs three or four small files (v1:
// cpuacct.usage, memory.usage_in_bytes, memory.stat; v2: cpu.stat,
// memory.current, memory.max, memory.stat), so they are read directly into
// pooled buffers. The formats are the kernel's stable ABI, documented in
// Documentation/admin-guide/cgroup-v{1,2}.

// cgroupFS reads one cgroup hierarchy layout (v1 or v2).
type cgroupFS interface {
	// exists reports whether the cgroup rel (e.g. "/docker/<id>") exists.
	exists(rel string) bool
	// fast fills the fields ContainerStats needs.
	fast(rel string, s *sample) error
	// full fills everything the metrics need (more files).
	full(rel string, s *sample) error
	// procsFile is the cgroup.procs file listing the cgroup's processes.
	procsFile(rel string) string
	// forget closes the descriptors kept for the cgroup rel.
	forget(rel string)
	version() int
}

// sample is one reading of a cgroup. Values the kernel does not offer stay 0.
type sample struct {
	cpuUsageNs, cpuUserNs, cpuSystemNs       uint64
	cfsPeriods, cfsThrottled, cfsThrottledNs uint64
	cpuShares, cpuPeriod                     uint64
	cpuQuota                                 int64 // -1: no quota

	memUsage, memMaxUsage, memWorkingSet uint64
	memRSS, memCache, memMapped          uint64
	memSwap, memKernel, memFailcnt       uint64
	memLimit, memSwapLimit, memReserve   uint64 // 0: unlimited
	pgfault, pgmajfault                  uint64 // hierarchy
	pgfaultSelf, pgmajfaultSelf          uint64 // this cgroup only
	oomKills                             uint64

	procs, threads, threadsMax uint64
	blkio                      []blkioStat
}

type blkioStat struct {
	major, minor uint64
	op           string // Read, Write, …
	bytes, ios   uint64
}

// unlimited is what v1 prints for "no limit" (rounded to the page size).
const unlimitedV1 = uint64(1) << 62

func limitOrZero(v uint64) uint64 {
	if v >= unlimitedV1 {
		return 0
	}
	return v
}

// detectCgroups finds the hierarchy from path (/proc/self/mountinfo). A unified
// (v2) mount at the root means v2; otherwise the v1 controllers' mounts are
// used (a hybrid host's unified mount holds no controllers we need).
func detectCgroups(path string) (cgroupFS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f)
}

func parseMountinfo(r io.Reader) (cgroupFS, error) {
	v1 := &cgroupV1{mounts: map[string]string{}}
	var v2root string
	ms, err := mountinfo.GetMountsFromReader(r, mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	for _, m := range ms {
		switch m.FSType {
		case "cgroup2":
			if v2root == "" || m.Mountpoint == "/sys/fs/cgroup" {
				v2root = m.Mountpoint
			}
		case "cgroup":
			for _, o := range strings.Split(m.VFSOptions, ",") {
				switch o {
				case "cpu", "cpuacct", "memory", "pids", "blkio":
					if _, ok := v1.mounts[o]; !ok {
						v1.mounts[o] = m.Mountpoint
					}
				}
			}
		}
	}
	if len(v1.mounts) > 0 {
		if v1.mounts["memory"] == "" || v1.mounts["cpuacct"] == "" {
			return nil, errors.New("cgroup v1 without memory or cpuacct controller mounted")
		}
		return v1, nil
	}
	if v2root != "" {
		return &cgroupV2{root: v2root}, nil
	}
	return nil, errors.New("no cgroup filesystem mounted")
}

// containerCgroup is the cgroup Docker puts a container in.
//
//	cgroupfs: <parent or /docker>/<id>
//	systemd:  <expanded parent slice or system.slice>/docker-<id>.scope
func containerCgroup(driver, parent, id string) string {
	if driver == "systemd" {
		if parent == "" {
			parent = "system.slice"
		}
		return path.Join(expandSlice(parent), "docker-"+id+".scope")
	}
	if parent == "" {
		parent = "/docker"
	}
	return path.Join("/", parent, id)
}

// podCgroup is the cgroup a pod's CgroupParent names.
func podCgroup(driver, parent string) string {
	if driver == "systemd" {
		return expandSlice(parent)
	}
	return path.Join("/", parent)
}

// expandSlice turns a systemd slice name into its path:
// "kubepods-besteffort-pod1.slice" → "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice".
// Anything that is not a slice name is taken as a path already.
func expandSlice(slice string) string {
	if !strings.HasSuffix(slice, ".slice") || strings.Contains(slice, "/") {
		return path.Join("/", slice)
	}
	name := strings.TrimSuffix(slice, ".slice")
	if name == "-" || name == "" {
		return "/"
	}
	var p, prefix string
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			return path.Join("/", slice) // malformed: use as is
		}
		p += "/" + prefix + part + ".slice"
		prefix += part + "-"
	}
	return p
}

// cgroupFromProc reads the cgroup path of pid for a controller ("" = v2)
// from /proc/<pid>/cgroup: the fallback when the computed path is absent.
func cgroupFromProc(procRoot string, pid int, controller string) (string, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller && controller != "" {
				return parts[2], nil
			}
		}
	}
	return "", fmt.Errorf("pid %d: no %q cgroup: %w", pid, controller, fs.ErrNotExist)
}

// File reading: small cgroup files into pooled buffers.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// readFile reads a small file and calls fn with its content (valid only
// during the call). It uses raw syscalls: os.Open would register every
// cgroup file with the runtime's poller (epoll_ctl plus fcntl, and the same
// undone at Close), which on this path costs more than the read itself.
// Kernel pseudo-files (kernfs/seq_file, procfs) return their whole content
// to one read with a large enough buffer, so a short read ends the file;
// only a full buffer is read further.
func readFile(name string, fn func([]byte) error) error {
	fd, err := openRaw(name)
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n := 0
	for {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: name, Err: err}
		}
		n += m
		if m == 0 || n < len(buf) {
			break
		}
		buf = append(buf, make([]byte, len(buf))...)
		*bp = buf
	}
	return fn(buf[:n])
}

func openRaw(name string) (int, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// readUint reads a file holding one number; "max" reads as 0 (unlimited).
func readUint(name string) (uint64, error) {
	var v uint64
	err := readFile(name, func(b []byte) error {
		var err error
		v, err = parseUintFile(name, b)
		return err
	})
	return v, err
}

func parseUintFile(name string, b []byte) (uint64, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "max" {
		return 0, nil
	}
	v, ok := atou(b)
	if !ok {
		return 0, fmt.Errorf("%s: not a number: %.20q", name, b)
	}
	return v, nil
}

// readKV calls set for each "key value" line of a flat-keyed file
// (memory.stat, cpu.stat, …).
func readKV(name string, set func(key []byte, v uint64)) error {
	return readFile(name, func(b []byte) error {
		parseKV(b, set)
		return nil
	})
}

func parseKV(b []byte, set func(key []byte, v uint64)) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 {
			continue
		}
		v, ok := atou(bytes.TrimSpace(line[sp+1:]))
		if !ok {
			continue
		}
		set(line[:sp], v)
	}
}

// countLines counts the non-empty lines of a file (cgroup.procs, tasks).
func countLines(name string) (uint64, error) {
	var n uint64
	err := readFile(name, func(b []byte) error {
		for _, l := range bytes.Split(b, []byte{'\n'}) {
			if len(bytes.TrimSpace(l)) > 0 {
				n++
			}
		}
		return nil
	})
	return n, err
}

// optional ignores a missing file: not every kernel has every knob.
func optional(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// atou parses a decimal uint64 without allocating.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseMajMin reads a block device's "<major>:<minor>" as the blkio and
// io.stat files print it.
func parseMajMin(b []byte) (maj, min uint64, ok bool) {
	a, c, found := bytes.Cut(b, []byte{':'})
	if !found {
		return 0, 0, false
	}
	maj, ok1 := atou(a)
	min, ok2 := atou(c)
	return maj, min, ok1 && ok2
}
