package network

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
)

// confExtensions are the files kubelet and containerd read from the conf dir.
var confExtensions = []string{".conflist", ".conf", ".json"}

// confSource finds the network to use in the CNI conf dir: the first file
// by name that parses and has plugins, as the kubelet and containerd pick it.
// The directory is listed on every call (cheap) so that a config written
// later, or a changed one, is picked up without a restart; a file is parsed
// again only when its name, size or mtime changed.
type confSource struct {
	dir     string
	binDirs []string
	log     *slog.Logger

	mu     sync.Mutex
	sig    string // signature of the conf files last parsed
	list   *libcni.NetworkConfigList
	file   string
	loadEr error
}

// msgUninitialized is the NetworkReady message the kubelet shows for an
// empty conf dir.
const msgUninitialized = "cni config uninitialized"

// network returns the network to use, or a *NotReadyError.
func (s *confSource) network() (*libcni.NetworkConfigList, error) {
	list, file, err := s.current()
	if err != nil {
		return nil, err
	}
	// Plugins may be installed after the config: look them up every time.
	for _, typ := range pluginTypes(list) {
		if _, err := invoke.FindInPath(typ, s.binDirs); err != nil {
			return nil, &NotReadyError{Reason: ReasonNotReady,
				Message: fmt.Sprintf("network %q (%s): %v", list.Name, file, err)}
		}
	}
	return list, nil
}

// current returns the network the conf dir selects and its file, without
// checking that its plugins are installed: enough to name it (IPs does, on
// every pod status, and needs no plugin binary).
func (s *confSource) current() (*libcni.NetworkConfigList, string, error) {
	files, sig, err := s.scan()
	if err != nil {
		return nil, "", &NotReadyError{Reason: ReasonNotReady, Message: fmt.Sprintf("cni config dir %s: %v", s.dir, err)}
	}
	if len(files) == 0 {
		return nil, "", &NotReadyError{Reason: ReasonNotReady, Message: msgUninitialized}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sig != s.sig {
		s.sig = sig
		s.list, s.file, s.loadEr = s.load(files)
		if s.loadEr == nil {
			s.log.Info("cni network config loaded", "file", s.file, "network", s.list.Name)
		} else {
			s.log.Warn("cni network config unusable", "dir", s.dir, "err", s.loadEr)
		}
	}
	if s.loadEr != nil {
		return nil, "", s.loadEr
	}
	return s.list, s.file, nil
}

// scan lists the conf files sorted by name with a signature of their
// names, sizes and mtimes.
func (s *confSource) scan() ([]string, string, error) {
	files, err := libcni.ConfFiles(s.dir, confExtensions)
	if err != nil {
		return nil, "", err
	}
	slices.Sort(files)
	var b strings.Builder
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			continue // removed meanwhile
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return files, b.String(), nil
}

// load parses files in order and returns the first usable network.
func (s *confSource) load(files []string) (*libcni.NetworkConfigList, string, error) {
	var errs []error
	for _, f := range files {
		list, err := loadConfFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(f), err))
			continue
		}
		return list, f, nil
	}
	return nil, "", &NotReadyError{Reason: ReasonNotReady,
		Message: fmt.Sprintf("no valid cni network config in %s: %v", s.dir, errors.Join(errs...))}
}

func loadConfFile(f string) (*libcni.NetworkConfigList, error) {
	var list *libcni.NetworkConfigList
	if strings.HasSuffix(f, ".conflist") {
		l, err := libcni.NetworkConfFromFile(f)
		if err != nil {
			return nil, err
		}
		list = l
	} else {
		//nolint:staticcheck // single-plugin .conf files are still what many installers write.
		c, err := libcni.ConfFromFile(f)
		if err != nil {
			return nil, err
		}
		//nolint:staticcheck // see above
		l, err := libcni.ConfListFromConf(c)
		if err != nil {
			return nil, err
		}
		list = l
	}
	if len(list.Plugins) == 0 {
		return nil, errors.New("no plugins")
	}
	return list, nil
}

func pluginTypes(list *libcni.NetworkConfigList) []string {
	types := make([]string, 0, len(list.Plugins))
	for _, p := range list.Plugins {
		types = append(types, p.Network.Type)
	}
	return types
}
