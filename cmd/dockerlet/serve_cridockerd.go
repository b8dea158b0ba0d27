package main

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/spf13/pflag"

	"github.com/dockerlet/dockerlet/internal/adopt"
)

// criDockerdFlags are cri-dockerd v0.4's flags that dockerlet has no
// equivalent for. A unit carried over from cri-dockerd starts: each is
// accepted and, when set, gets one warning saying what dockerlet does
// instead. cri-dockerd's other flags are serve's own (same names).
type criDockerdFlags struct {
	set       []string // the flags of this list given on the command line
	version   bool
	buildInfo bool
	// rootDir is cri-dockerd's root directory; adopt says to adopt the
	// pods its checkpoints there name (internal/adopt).
	rootDir string
	adopt   bool
}

// criDockerdOnly: flag name → what dockerlet does instead.
var criDockerdOnly = map[string]string{
	"runtime-cgroups":    "dockerlet runs in the cgroup its service manager gives it (the unit's Slice=); the containers' cgroups are Docker's",
	"pod-cidr":           "pod addresses come from the CNI configuration (cni) or Docker's network (docker), as with cri-dockerd's cni plugin",
	"ipv6-dual-stack":    "IPv6 follows the CNI configuration (cni) or Docker's network (docker)",
	"network-plugin-mtu": "the MTU is the CNI configuration's (cni) or Docker's network's (docker), as with cri-dockerd's cni plugin",
	"hairpin-mode":       "hairpin is the CNI configuration's (the bridge plugin's hairpinMode), as with cri-dockerd's cni plugin",
}

// hairpinModes are the values cri-dockerd accepts for --hairpin-mode.
var hairpinModes = []string{"promiscuous-bridge", "hairpin-veth", "none"}

func (c *criDockerdFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.rootDir, "cri-dockerd-root-directory", adopt.DefaultRootDir, "cri-dockerd's root directory, whose sandbox checkpoints --adopt-cri-dockerd reads (dockerlet's own are in --root-directory)")
	fs.BoolVar(&c.adopt, "adopt-cri-dockerd", false, "adopt the pods cri-dockerd left running (checkpoints in --cri-dockerd-root-directory, CNI cache in --cni-cache-dir, default cri-dockerd's /var/lib/cni/cache): same ids, nothing restarts")
	fs.String("runtime-cgroups", "", "cri-dockerd's; accepted and ignored with a warning")
	fs.String("pod-cidr", "", "cri-dockerd's; accepted and ignored with a warning")
	fs.Bool("ipv6-dual-stack", false, "cri-dockerd's; accepted and ignored with a warning")
	fs.Int("network-plugin-mtu", 0, "cri-dockerd's; accepted and ignored with a warning")
	fs.Func("hairpin-mode", "cri-dockerd's (promiscuous-bridge, hairpin-veth or none); accepted and ignored with a warning", func(v string) error {
		if !slices.Contains(hairpinModes, v) {
			return fmt.Errorf("want one of %v", hairpinModes)
		}
		return nil
	})
	fs.BoolVar(&c.version, "version", false, "print dockerlet's version and exit (as cri-dockerd --version)")
	fs.BoolVar(&c.buildInfo, "buildinfo", false, "print dockerlet's build information and exit (as cri-dockerd --buildinfo)")
}

// criDockerdOwn are flags that only a command line carried over from
// cri-dockerd, or one adopting its pods, gives.
var criDockerdOwn = []string{"cri-dockerd-root-directory", "adopt-cri-dockerd"}

// warnUnadopted tells a node switched from cri-dockerd without
// --adopt-cri-dockerd what becomes of cri-dockerd's pods.
func (c *criDockerdFlags) warnUnadopted(logger *slog.Logger) {
	if !c.adopt && adopt.HasCheckpoints(c.rootDir) {
		logger.Warn("cri-dockerd's root directory holds sandbox checkpoints: pods cri-dockerd left running are not adopted without --adopt-cri-dockerd, and the kubelet starts them again beside the old containers", "cri_dockerd_root_directory", c.rootDir)
	}
}

// afterParse records which cri-dockerd-only flags were given.
func (c *criDockerdFlags) afterParse(fs *pflag.FlagSet) {
	fs.Visit(func(fl *pflag.Flag) {
		if _, ok := criDockerdOnly[fl.Name]; ok {
			c.set = append(c.set, fl.Name)
		}
	})
	slices.Sort(c.set)
}

// warn logs one warning per cri-dockerd-only flag given.
func (c *criDockerdFlags) warn(logger *slog.Logger) {
	for _, name := range c.set {
		logger.Warn("cri-dockerd flag --"+name+" accepted and ignored: "+criDockerdOnly[name], "flag", name)
	}
}

// defaultNetworkPlugin is the plugin when --network-plugin is not given.
// dockerlet's default is Docker's bridge; cri-dockerd's is cni. A command
// line that is cri-dockerd's (one of its own flags) or that configures CNI
// gets cni, as cri-dockerd would give it: a carried-over unit must not
// silently give its pods addresses other nodes cannot route to. The reason
// is returned for the log.
func defaultNetworkPlugin(set map[string]bool) (plugin, why string) {
	for _, name := range []string{"cni-bin-dir", "cni-conf-dir", "cni-cache-dir", "cni-netns-dir"} {
		if set[name] {
			return "cni", "--" + name + " is set"
		}
	}
	for name := range criDockerdOnly {
		if set[name] {
			return "cni", "cri-dockerd's --" + name + " is set (cri-dockerd's default network plugin is cni)"
		}
	}
	for _, name := range criDockerdOwn {
		if set[name] {
			return "cni", "--" + name + " is set (cri-dockerd's default network plugin is cni)"
		}
	}
	return "docker", ""
}
