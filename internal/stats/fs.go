package stats

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Storage driver directories under Docker's root, in the order they are
// looked for when nothing else says which one is in use.
var storageDrivers = []string{"overlay2", "fuse-overlayfs", "btrfs", "zfs", "aufs", "overlay", "devicemapper", "vfs"}

// fsInfo answers filesystem questions about Docker's root.
type fsInfo struct {
	root string
	// dir, when set, is where images and writable layers live (a containerd
	// snapshotter's directory); else a graph driver's under root.
	dir string

	once   sync.Once
	driver string // storage directory found under root, "" if none
}

func newFSInfo(root string) *fsInfo { return &fsInfo{root: root} }

// imageDir is the directory images and writable layers live in: the storage
// driver's directory under Docker's root, or the root itself.
func (f *fsInfo) imageDir() string {
	if f.dir != "" {
		return f.dir
	}
	f.once.Do(func() {
		for _, d := range storageDrivers {
			if fi, err := os.Stat(filepath.Join(f.root, d)); err == nil && fi.IsDir() {
				f.driver = d
				return
			}
		}
	})
	if f.driver == "" {
		return f.root
	}
	return filepath.Join(f.root, f.driver)
}

// storageDir is the filesystem identifier of a writable layer: the storage
// directory that holds it (…/overlay2/<id>/diff → …/overlay2).
func (f *fsInfo) storageDir(upper string) string {
	if f.dir != "" {
		return f.dir
	}
	if rel, err := filepath.Rel(f.root, upper); err == nil && !strings.HasPrefix(rel, "..") {
		if first, _, ok := strings.Cut(rel, string(filepath.Separator)); ok {
			return filepath.Join(f.root, first)
		}
	}
	return f.imageDir()
}

// statfsUsage is the used bytes and inodes, and capacity, of the
// filesystem holding dir.
type statfsUsage struct {
	usedBytes, capacity, available uint64
	inodesUsed, inodes, inodesFree uint64
}

func statfs(dir string) (statfsUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return statfsUsage{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return statfsUsage{
		usedBytes:  (st.Blocks - st.Bfree) * bs,
		capacity:   st.Blocks * bs,
		available:  st.Bavail * bs,
		inodesUsed: st.Files - st.Ffree,
		inodes:     st.Files,
		inodesFree: st.Ffree,
	}, nil
}

// ImageFsInfo reports the filesystem under Docker's root that holds images
// and writable layers (one filesystem: Docker does not split them), from
// statfs.
func (c *Collector) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	dir := c.fs.imageDir()
	u, err := statfs(dir)
	if err != nil {
		return nil, err
	}
	now := c.now().UnixNano()
	usage := func() *runtimeapi.FilesystemUsage {
		return &runtimeapi.FilesystemUsage{
			Timestamp:  now,
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: dir},
			UsedBytes:  u64(u.usedBytes),
			InodesUsed: u64(u.inodesUsed),
		}
	}
	return &runtimeapi.ImageFsInfoResponse{
		ImageFilesystems:     []*runtimeapi.FilesystemUsage{usage()},
		ContainerFilesystems: []*runtimeapi.FilesystemUsage{usage()},
	}, nil
}

// Writable-layer sizes.

const (
	layerRefresh = 30 * time.Second // a cached size older than this is walked again
	layerForget  = 10 * time.Minute // a layer nobody asked about this long is dropped
)

type layerEntry struct {
	bytes, inodes uint64
	walked        time.Time // zero until the first walk finished
	asked         time.Time
	queued        bool
}

// layerCache keeps the disk usage of writable layers, measured off the
// request path by one walker goroutine (one walk at a time keeps the disk
// load of many containers low).
type layerCache struct {
	log     *slog.Logger
	mu      sync.Mutex
	entries map[string]*layerEntry
	queue   chan string
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	now     func() time.Time
}

func newLayerCache(logger *slog.Logger) *layerCache {
	l := &layerCache{
		log:     logger,
		entries: make(map[string]*layerEntry),
		queue:   make(chan string, 4096),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		now:     time.Now,
	}
	go l.run()
	return l
}

// get returns the last measured size of dir (0, 0 before the first walk)
// and queues a walk when the figure is missing or stale.
func (l *layerCache) get(dir string) (bytes, inodes uint64) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[dir]
	if e == nil {
		e = &layerEntry{}
		l.entries[dir] = e
	}
	e.asked = now
	if !e.queued && now.Sub(e.walked) >= layerRefresh {
		select {
		case l.queue <- dir:
			e.queued = true
		default: // the walker is behind; the next call asks again
		}
	}
	return e.bytes, e.inodes
}

func (l *layerCache) run() {
	defer close(l.done)
	prune := time.NewTicker(layerForget)
	defer prune.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-prune.C:
			l.prune()
		case dir := <-l.queue:
			bytes, inodes, err := du(dir, l.stop)
			l.mu.Lock()
			if e := l.entries[dir]; e != nil {
				e.queued = false
				if err == nil {
					e.bytes, e.inodes, e.walked = bytes, inodes, l.now()
				} else {
					e.walked = l.now() // do not hammer a broken path
				}
			}
			l.mu.Unlock()
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errStopped) {
				l.log.Debug("measure writable layer", "dir", dir, "err", err)
			}
		}
	}
}

func (l *layerCache) prune() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.entries {
		if !e.queued && now.Sub(e.asked) > layerForget {
			delete(l.entries, k)
		}
	}
}

func (l *layerCache) close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

var errStopped = errors.New("stopped")

// du walks dir like `du -s --inodes`: bytes from allocated blocks, each
// inode counted once (hard links inside the layer are one file).
func du(dir string, stop <-chan struct{}) (bytes, inodes uint64, err error) {
	seen := map[uint64]struct{}{}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished meanwhile or unreadable: skip it
		}
		if n++; n%1024 == 0 {
			select {
			case <-stop:
				return errStopped
			default:
			}
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			bytes += uint64(info.Size())
			inodes++
			return nil
		}
		if st.Nlink > 1 && !info.IsDir() {
			if _, dup := seen[st.Ino]; dup {
				return nil
			}
			seen[st.Ino] = struct{}{}
		}
		bytes += uint64(st.Blocks) * 512
		inodes++
		return nil
	})
	return bytes, inodes, err
}
