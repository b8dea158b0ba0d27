//go:build linux

package network

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/dockerlet/dockerlet/internal/netns"
)

// pinNetNS bind-mounts the network namespace at src onto target so that it
// outlives the pause container: TearDown then always has the pod's netns,
// and plugins that clean up from inside it (the bridge plugin's ipMasq
// rules) do so even after the container was removed or the server
// restarted. containerd pins its pod netns the same way.
func pinNetNS(src, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("pin netns: %w", err)
	}
	_ = f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		_ = os.Remove(target)
		return fmt.Errorf("pin netns %s on %s: %w", src, target, err)
	}
	return nil
}

// isPinnedNetNS reports whether path is a mounted network namespace (and
// not the empty file left when the mount went away, e.g. after a reboot).
func isPinnedNetNS(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// unpinNetNS unmounts and removes a pin; a missing pin is not an error.
func unpinNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unpin netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin netns %s: %w", path, err)
	}
	return nil
}

// addrsInNetNS lists the addresses of interface ifName inside the network
// namespace at nsPath (global unicast only: what a CNI IPAM hands out). A
// missing interface is no addresses, not an error.
func addrsInNetNS(nsPath, ifName string) ([]*net.IPNet, error) {
	var addrs []*net.IPNet
	err := netns.Do(nsPath, func() (err error) {
		addrs, err = interfaceAddrs(ifName)
		return err
	})
	return addrs, err
}

func interfaceAddrs(ifName string) ([]*net.IPNet, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	var out []*net.IPNet
	for _, iface := range ifaces {
		if iface.Name != ifName {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifName, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
				out = append(out, ipn)
			}
		}
	}
	return out, nil
}

// loopbackUp sets lo up inside the network namespace at nsPath: all the
// loopback plugin's ADD does, without a fork and exec.
func loopbackUp(nsPath string) error {
	return netns.Do(nsPath, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("lo up: %w", err)
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			return fmt.Errorf("lo up: %w", err)
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("lo flags: %w", err)
		}
		if ifr.Uint16()&unix.IFF_UP != 0 {
			return nil
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("lo up: %w", err)
		}
		return nil
	})
}
