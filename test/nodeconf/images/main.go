// Command images builds the images of Kubernetes' node e2e suite FROM
// scratch (busybox-static, agnhost and the other programs built from the
// suite's own module, a few programs of this machine) and pushes each to
// the local registry under the reference the suite asks for. An image
// the registry already holds with the same digest is not pushed again.
// With -pull-through, a runtime's CRI then pulls them all.
//
//	images -list LIST -push-to 127.0.0.1:5000 -agnhost BIN ...
//	images -list LIST -pull-through unix:///SOCK
//	images -sweep unix:///SOCK     every pod of that runtime stopped and removed
//
// LIST has one "KEY REFERENCE" line per image (test/nodeconf/suite/imagelist
// prints it from the suite's own image manifest).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func main() {
	var in inputs
	list := flag.String("list", "", "file of KEY REFERENCE lines (- for stdin)")
	pushTo := flag.String("push-to", "", "registry address to build and push the images to, in place of each reference's registry host")
	pull := flag.String("pull-through", "", "CRI endpoint (unix:///path) that then pulls every image")
	sweep := flag.String("sweep", "", "CRI endpoint (unix:///path) whose every pod is stopped and removed (nothing else is done)")
	flag.StringVar(&in.Busybox, "busybox", "/bin/busybox", "static busybox")
	flag.StringVar(&in.Agnhost, "agnhost", "", "agnhost binary")
	flag.StringVar(&in.AgnhostSrc, "agnhost-src", "", "agnhost's source directory")
	flag.StringVar(&in.Nnp, "nnp", "", "nonewprivs' nnp binary")
	flag.StringVar(&in.Pause, "pause", "", "static pause binary")
	flag.StringVar(&in.Nginx, "nginx", "", "the nginx stand-in binary")
	flag.StringVar(&in.Nmeter, "nmeter", "", "the nmeter stand-in binary")
	flag.StringVar(&in.Nc, "nc", "", "the nc stand-in binary")
	flag.Parse()
	if *sweep != "" {
		if err := sweepWithin(*sweep, 5*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "images:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*list, *pushTo, *pull, in); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(list, pushTo, pull string, in inputs) error {
	refs, err := readList(list)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if pushTo == "" && pull == "" {
		return errors.New("nothing to do: want -push-to, -pull-through or both")
	}
	for _, r := range refs {
		if pushTo == "" {
			break
		}
		build, ok := builders[r.key]
		if !ok {
			return fmt.Errorf("%s: no stand-in for image key %q", r.ref, r.key)
		}
		s, err := build(in)
		if err != nil {
			return fmt.Errorf("%s: %w", r.key, err)
		}
		state, err := push(ctx, s, r, pushTo)
		if err != nil {
			return fmt.Errorf("%s: %w", r.ref, err)
		}
		fmt.Printf("%-18s %s %s\n", r.key, r.ref, state)
	}
	if pull == "" {
		return nil
	}
	return pullThrough(ctx, pull, refs)
}

type listed struct{ key, ref string }

func readList(p string) ([]listed, error) {
	f := os.Stdin
	if p != "-" && p != "" {
		var err error
		if f, err = os.Open(p); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	var out []listed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("list line %q: want KEY REFERENCE", sc.Text())
		}
		out = append(out, listed{fields[0], fields[1]})
	}
	if len(out) == 0 && sc.Err() == nil {
		return nil, errors.New("empty image list")
	}
	return out, sc.Err()
}

// push writes the image to pushTo under r's repository and tag unless the
// registry has that tag at the same digest already.
func push(ctx context.Context, s *spec, r listed, pushTo string) (string, error) {
	img, err := s.image(r.key)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(r.ref)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(pushTo+"/"+ref.Context().RepositoryStr()+":"+ref.Identifier(), name.Insecure)
	if err != nil {
		return "", err
	}
	want, err := img.Digest()
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(tag, remote.WithContext(ctx))
	var terr *transport.Error
	switch {
	case err == nil && desc.Digest == want:
		return want.String() + " present", nil
	case err != nil && !(errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound):
		return "", err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", err
	}
	return want.String() + " pushed", nil
}
