package main

import (
	"fmt"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/dockerlet/dockerlet/internal/pod/localimage"
)

// inputs are the programs the images are made of.
type inputs struct {
	Busybox    string // the host's static busybox (Debian's busybox-static)
	Agnhost    string // agnhost, built from the suite's own module
	AgnhostSrc string // its source directory (porter's certificate and key)
	Nnp        string // test/images/nonewprivs, built from the suite's module
	Pause      string // build/pause/linux/pause.c, built static
	Nginx      string // test/nodeconf/nginx, the nginx stand-in
	Nmeter     string // test/nodeconf/nmeter, busybox's nmeter applet
	Nc         string // test/nodeconf/nc, an nc with UDP
}

// spec is an image: its file system and its config.
type spec struct {
	layer      *localimage.Layer
	entrypoint []string
	cmd        []string
	user       string
	stopSignal string
	ports      []string
}

// builders make each image the suite uses, by the key imagelist prints.
// Each says what of the upstream image it reproduces.
var builders = map[string]func(in inputs) (*spec, error){
	// busybox: the applets hard-linked in /bin, busybox's /etc/passwd and
	// /etc/group, CMD ["sh"].
	"busybox": func(in inputs) (*spec, error) {
		l, err := busyboxLayer(in)
		return &spec{layer: l, cmd: []string{"sh"}}, err
	},
	// agnhost: the binary at /agnhost (and /agnhost-2, for the
	// entrypoint specs), ENTRYPOINT ["/agnhost"] CMD ["pause"], the user
	// and group the SupplementalGroups specs expect in the image, /uploads
	// for netexec, porter's certificate, bash and curl (this machine's, for
	// the probe and hook specs); busybox's applets stand in for Alpine's.
	"agnhost":      agnhost,
	"agnhost-prev": agnhost, // the previous release: the same program, a distinct image (label)
	// nginx: a program named nginx that writes /var/run/nginx.pid and
	// serves /usr/share/nginx/html on port 80; stops on SIGQUIT.
	"nginx":     nginx,
	"nginx-new": nginx,
	// nonroot: USER 1234.
	"nonroot": func(in inputs) (*spec, error) {
		l, err := busyboxLayer(in)
		return &spec{layer: l, cmd: []string{"sh"}, user: "1234"}, err
	},
	// nonewprivs: nnp (prints its effective uid) installed setuid root.
	"nonewprivs": func(in inputs) (*spec, error) {
		l, err := busyboxLayer(in)
		if err != nil {
			return nil, err
		}
		if err := l.HostFile("usr/local/bin/nnp", in.Nnp, 0o4755); err != nil {
			return nil, err
		}
		return &spec{layer: l, cmd: []string{"nnp"}}, nil
	},
	// ipc-utils: util-linux's ipcs, ipcmk and ipcrm (this machine's, with
	// their libraries) over busybox.
	"ipc-utils": func(in inputs) (*spec, error) {
		l, err := busyboxLayer(in)
		if err != nil {
			return nil, err
		}
		for _, p := range []string{"ipcs", "ipcmk", "ipcrm"} {
			src, err := exec.LookPath(p)
			if err != nil {
				return nil, fmt.Errorf("%s (util-linux): %w", p, err)
			}
			if err := hostProgram(l, "usr/bin/"+p, src); err != nil {
				return nil, err
			}
		}
		return &spec{layer: l, cmd: []string{"sh"}}, nil
	},
	// glibc-dns-testing: glibc's resolver behind `hostname -f` (Debian's
	// hostname and, as /bin/sh, dash, which runs /bin/hostname where
	// busybox's shell would run its own applet); hosts from files first.
	"glibc-dns-testing": func(in inputs) (*spec, error) {
		l, err := busyboxLayer(in)
		if err != nil {
			return nil, err
		}
		if err := hostProgram(l, "bin/sh", "/bin/dash"); err != nil {
			return nil, fmt.Errorf("dash: %w", err)
		}
		if err := hostProgram(l, "bin/hostname", "/bin/hostname"); err != nil {
			return nil, fmt.Errorf("hostname: %w", err)
		}
		l.Text("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n")
		return &spec{layer: l, cmd: []string{"sh"}}, nil
	},
	// pause: pause.c built static, USER 65535:65535, ENTRYPOINT ["/pause"].
	"pause": func(in inputs) (*spec, error) {
		l := localimage.NewLayer()
		if err := l.HostFile("pause", in.Pause, 0o755); err != nil {
			return nil, err
		}
		return &spec{layer: l, entrypoint: []string{"/pause"}, user: "65535:65535"}, nil
	},
}

func agnhost(in inputs) (*spec, error) {
	l, err := busyboxLayer(in)
	if err != nil {
		return nil, err
	}
	if err := l.HostFile("agnhost", in.Agnhost, 0o755); err != nil {
		return nil, err
	}
	l.Symlink("agnhost-2", "agnhost")
	l.Hardlink("bin/bash", "bin/sh") // the Alpine image adds bash; sh is bash here
	curl, err := exec.LookPath("curl")
	if err != nil {
		return nil, fmt.Errorf("curl: %w", err)
	}
	if err := hostProgram(l, "usr/bin/curl", curl); err != nil {
		return nil, err
	}
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		if err := l.HostFile(f, filepath.Join(in.AgnhostSrc, "porter", f), 0o644); err != nil {
			return nil, err
		}
	}
	l.Dir("uploads", 0o755)
	l.Text("etc/passwd", passwd+"user-defined-in-image:x:1000:1000:Linux User,,,:/home/user-defined-in-image:/bin/sh\n")
	l.Text("etc/group", group+"user-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n")
	l.DirOwned("home/user-defined-in-image", 0o755, 1000, 1000)
	return &spec{layer: l, entrypoint: []string{"/agnhost"}, cmd: []string{"pause"},
		ports: []string{"80/tcp", "8080/tcp", "8081/tcp", "9376/tcp", "5000/tcp"}}, nil
}

func nginx(in inputs) (*spec, error) {
	l, err := busyboxLayer(in)
	if err != nil {
		return nil, err
	}
	if err := l.HostFile("usr/sbin/nginx", in.Nginx, 0o755); err != nil {
		return nil, err
	}
	l.Text("usr/share/nginx/html/index.html", "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n")
	return &spec{layer: l, cmd: []string{"nginx", "-g", "daemon off;"}, stopSignal: "SIGQUIT", ports: []string{"80/tcp"}}, nil
}

// The busybox image's account files.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\n" +
		"sys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\n" +
		"www-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	group = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nmail:x:8:\nkmem:x:9:\nwheel:x:10:root\n" +
		"cdrom:x:11:\ndialout:x:18:\nfloppy:x:19:\nvideo:x:28:\naudio:x:29:\ntape:x:32:\nwww-data:x:33:\noperator:x:37:\nutmp:x:43:\n" +
		"plugdev:x:46:\nstaff:x:50:\nlock:x:54:\nnetdev:x:82:\nusers:x:100:\nnogroup:x:65534:\n"
)

// busyboxLayer is localimage's busybox layer (the static busybox with
// every applet hard-linked in /bin, as in the busybox image) with the
// busybox image's account files and empty directories, nmeter (an applet
// of the busybox image that Debian's build lacks) and an nc with UDP
// (Debian's has no -u). /bin/sh is this machine's bash: the ash of
// Debian's busybox (1.35) drops environment variables whose names are not
// shell identifiers (data-1, from a Secret's keys) before running a
// command, which the busybox and Alpine images' shell passes on; and
// unlike busybox-static's shell, which runs its applets in process, bash
// runs /bin/<applet> as the images' shell does.
func busyboxLayer(in inputs) (*localimage.Layer, error) {
	l, err := localimage.BusyboxLayer(in.Busybox)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"home", "usr", "usr/sbin", "var/www"} {
		l.Dir(d, 0o755)
	}
	if err := hostProgram(l, "bin/sh", "/bin/bash"); err != nil {
		return nil, fmt.Errorf("bash: %w", err)
	}
	if in.Nmeter != "" {
		if err := l.HostFile("bin/nmeter", in.Nmeter, 0o755); err != nil {
			return nil, err
		}
	}
	if in.Nc != "" {
		if err := l.HostFile("bin/nc", in.Nc, 0o755); err != nil {
			return nil, err
		}
	}
	l.Text("etc/passwd", passwd)
	l.Text("etc/group", group)
	return l, nil
}

// image assembles the spec into a one-layer image labelled with the key,
// so that two stand-ins built the same way are still distinct images.
func (s *spec) image(key string) (v1.Image, error) {
	layer, err := s.layer.Build()
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{Entrypoint: s.entrypoint, Cmd: s.cmd, User: s.user, StopSignal: s.stopSignal,
		Labels: map[string]string{"io.dockerlet.nodeconf.image": key}}
	if len(s.ports) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range s.ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	return localimage.ImageOf(cfg, layer)
}
