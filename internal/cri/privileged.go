package cri

import (
	"bufio"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

// capNames are the capabilities every Docker Engine since 20.10 knows, by
// bit number.
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
}

// hostCaps is what this host lets a container have. Docker grants a
// privileged container (or CapAdd ALL) every capability it knows; where
// the host withholds some (root without CAP_SYS_RESOURCE in a container or
// some VMs) runc then fails with "unable to apply caps". There dockerlet
// does what containerd does: a privileged container gets every capability
// the host has — and everything else privileged means — instead of failing.
type hostCaps struct {
	present []string // CAP_… names in the bounding set
	missing []string // known capabilities the host withholds
	logger  *slog.Logger
	once    *sync.Once
}

func detectHostCaps(logger *slog.Logger) hostCaps {
	h := hostCaps{logger: logger, once: new(sync.Once)}
	mask, ok := boundingSet()
	for bit, name := range capNames {
		if !ok || mask&(1<<uint(bit)) != 0 {
			h.present = append(h.present, "CAP_"+name)
		} else {
			h.missing = append(h.missing, "CAP_"+name)
		}
	}
	return h
}

func boundingSet() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return m, err == nil
		}
	}
	return 0, false
}

// restricted reports whether Docker's notion of "all capabilities" is more
// than this host has.
func (h hostCaps) restricted() bool { return len(h.missing) > 0 }

func (h hostCaps) warnOnce() {
	if h.once != nil {
		h.once.Do(func() {
			h.logger.Warn("this host withholds capabilities; privileged containers get every capability it has instead of failing",
				"withheld", h.missing)
		})
	}
}

// applyPrivileged makes hc privileged. On an unrestricted host that is
// Docker's own privileged mode; on a restricted one, its equivalent within
// the host's capabilities: those capabilities, every host device, no
// seccomp/AppArmor/SELinux confinement and no masked or read-only paths.
func (h hostCaps) applyPrivileged(hc *container.HostConfig) {
	if !h.restricted() {
		hc.Privileged = true
		return
	}
	h.warnOnce()
	hc.Privileged = false
	hc.CapAdd = slices.Clone(h.present)
	hc.CapDrop = nil
	hc.SecurityOpt = append(slices.DeleteFunc(hc.SecurityOpt, func(o string) bool {
		return strings.HasPrefix(o, "seccomp=") || strings.HasPrefix(o, "apparmor=")
	}), "seccomp=unconfined", "apparmor=unconfined", "label=disable")
	hc.MaskedPaths = []string{}
	hc.ReadonlyPaths = []string{}
	hc.DeviceCgroupRules = append(hc.DeviceCgroupRules, "a *:* rwm")
	hc.Devices = append(hc.Devices, hostDevices()...)
}

// expandAll replaces "ALL" in CapAdd with the host's capabilities on a
// restricted host.
func (h hostCaps) expandAll(add []string) []string {
	if !h.restricted() || !slices.ContainsFunc(add, func(c string) bool { return strings.EqualFold(c, "ALL") }) {
		return add
	}
	h.warnOnce()
	return slices.Clone(h.present)
}

// hostDevices lists the host's device nodes as Docker's privileged mode
// does (pseudo-terminal and shared-memory directories excluded).
func hostDevices() []container.DeviceMapping {
	var out []container.DeviceMapping
	_ = filepath.WalkDir("/dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch p {
			case "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/.lxc", "/dev/.udev":
				return filepath.SkipDir
			}
			return nil
		}
		if p == "/dev/console" || d.Type()&fs.ModeDevice == 0 {
			return nil
		}
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil {
			return nil
		}
		out = append(out, container.DeviceMapping{PathOnHost: p, PathInContainer: p, CgroupPermissions: "rwm"})
		return nil
	})
	return out
}
