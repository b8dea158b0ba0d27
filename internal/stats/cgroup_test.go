package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	const v1 = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const v2 = `25 30 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
`
	const odd = `35 31 0:32 / /mnt/my\040cgroups rw,relatime - cgroup cgroup rw,memory,cpuacct
`
	tests := []struct {
		name, in string
		wantV    int
		want     map[string]string // v1 mounts, or {"": root} for v2
		wantErr  bool
	}{
		{"hybrid v1", v1, 1, map[string]string{"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}, false},
		{"unified", v2, 2, map[string]string{"": "/sys/fs/cgroup"}, false},
		{"escaped mount point", odd, 1, map[string]string{"memory": "/mnt/my cgroups", "cpuacct": "/mnt/my cgroups"}, false},
		{"none", "1 2 0:1 / / rw - ext4 /dev/sda rw\n", 0, nil, true},
		{"v1 without memory", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg, err := parseMountinfo(strings.NewReader(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %#v", cg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cg.version() != tt.wantV {
				t.Fatalf("version %d, want %d", cg.version(), tt.wantV)
			}
			switch c := cg.(type) {
			case *cgroupV1:
				for k, v := range tt.want {
					if c.mounts[k] != v {
						t.Errorf("mount of %s = %q, want %q", k, c.mounts[k], v)
					}
				}
			case *cgroupV2:
				if c.root != tt.want[""] {
					t.Errorf("root %q, want %q", c.root, tt.want[""])
				}
			}
		})
	}
}

func TestCgroupPaths(t *testing.T) {
	tests := []struct {
		driver, parent, id, want string
	}{
		{"cgroupfs", "", "abc", "/docker/abc"},
		{"cgroupfs", "/kubepods/besteffort/pod1", "abc", "/kubepods/besteffort/pod1/abc"},
		{"cgroupfs", "kubepods", "abc", "/kubepods/abc"},
		{"systemd", "", "abc", "/system.slice/docker-abc.scope"},
		{"systemd", "kubepods-besteffort-pod1.slice", "abc", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/docker-abc.scope"},
		{"systemd", "kubepods.slice", "abc", "/kubepods.slice/docker-abc.scope"},
		{"systemd", "-.slice", "abc", "/docker-abc.scope"},
	}
	for _, tt := range tests {
		if got := containerCgroup(tt.driver, tt.parent, tt.id); got != tt.want {
			t.Errorf("containerCgroup(%q, %q) = %q, want %q", tt.driver, tt.parent, got, tt.want)
		}
	}
	pods := []struct{ driver, parent, want string }{
		{"cgroupfs", "/kubepods/burstable/pod2", "/kubepods/burstable/pod2"},
		{"systemd", "kubepods-burstable-pod2.slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2.slice"},
		{"systemd", "bad--name.slice", "/bad--name.slice"},
	}
	for _, tt := range pods {
		if got := podCgroup(tt.driver, tt.parent); got != tt.want {
			t.Errorf("podCgroup(%q, %q) = %q, want %q", tt.driver, tt.parent, got, tt.want)
		}
	}
}

func TestCgroupFromProc(t *testing.T) {
	proc := t.TempDir()
	os.MkdirAll(filepath.Join(proc, "42"), 0o755)
	writeFiles(t, proc, map[string]string{"42/cgroup": "4:memory:/nested/docker/x\n2:cpu,cpuacct:/nested/docker/x\n0::/unified/x\n"})
	for ctrl, want := range map[string]string{"memory": "/nested/docker/x", "cpuacct": "/nested/docker/x", "": "/unified/x"} {
		got, err := cgroupFromProc(proc, 42, ctrl)
		if err != nil || got != want {
			t.Errorf("controller %q: %q, %v; want %q", ctrl, got, err, want)
		}
	}
	if _, err := cgroupFromProc(proc, 42, "pids"); err == nil {
		t.Error("no error for a missing controller")
	}
}

func TestAtouAndKV(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "18446744073709551615": 1<<64 - 1, "42": 42} {
		if v, ok := atou([]byte(in)); !ok || v != want {
			t.Errorf("atou(%q) = %d, %v", in, v, ok)
		}
	}
	for _, bad := range []string{"", "-1", "18446744073709551616", "1x", "max"} {
		if _, ok := atou([]byte(bad)); ok {
			t.Errorf("atou(%q) accepted", bad)
		}
	}
	got := map[string]uint64{}
	parseKV([]byte("cache 1\nrss 2\n\nbroken\nneg -3\ntotal_rss 4"), func(k []byte, v uint64) { got[string(k)] = v })
	if len(got) != 3 || got["cache"] != 1 || got["rss"] != 2 || got["total_rss"] != 4 {
		t.Errorf("parseKV = %v", got)
	}
}

// writeFiles creates files (and their directories) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"))
	f.Add([]byte(netDev))
	f.Add([]byte("8:0 rbytes=1 wbytes=2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseMountinfo(bytes.NewReader(b))
		_, _ = parseNetDev(b)
		parseKV(b, func([]byte, uint64) {})
		_, _ = atou(b)
		_ = expandSlice(string(b))
	})
}
