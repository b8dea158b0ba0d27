package stats

import (
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// upperDir is a container's writable layer. Graph drivers name it in the
// container's inspect (ref.UpperDir); Docker's containerd image store does
// not, so there it is read from the overlay Docker mounts as the running
// container's root filesystem (<root>/rootfs/overlayfs/<id>), once per
// container: a snapshot's directory never changes. A stopped container has
// no such mount and no measured writable layer.
func (c *Collector) upperDir(ref ContainerRef) string {
	if ref.UpperDir != "" || c.fs.dir == "" || ref.Pid == 0 {
		return ref.UpperDir
	}
	c.mu.Lock()
	up, ok := c.uppers[ref.ID]
	c.mu.Unlock()
	if ok {
		return up
	}
	target := filepath.Join(c.dockerRoot, "rootfs", "overlayfs", ref.ID)
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(target))
	if err != nil || len(ms) == 0 {
		return ""
	}
	for _, o := range strings.Split(ms[0].VFSOptions, ",") {
		if v, ok := strings.CutPrefix(o, "upperdir="); ok {
			up = v
		}
	}
	if up != "" {
		c.mu.Lock()
		c.uppers[ref.ID] = up
		c.mu.Unlock()
	}
	return up
}
