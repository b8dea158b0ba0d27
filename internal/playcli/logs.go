package playcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/crilog"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("logs", command{summary: "logs POD [-c C] [-f]: a play pod's container logs (kubectl logs)", run: runLogs})
}

func runLogs(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("logs", "POD [flags]")
	f := addPlayFlags(fs)
	ns := fs.StringP("namespace", "n", pod.DefaultNamespace, "namespace")
	cname := fs.StringP("container", "c", "", "container (default: the pod's only container)")
	follow := fs.BoolP("follow", "f", false, "follow")
	previous := fs.BoolP("previous", "p", false, "the previous instance of the container")
	tail := fs.Int("tail", -1, "lines from the end (-1: all)")
	ts := fs.Bool("timestamps", false, "prefix each line with its timestamp")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dockerlet logs POD [-c CONTAINER] [-f] [-p] [--tail N]")
	}
	r, name, err := findContainer(f.stateDir, *ns, fs.Arg(0), *cname)
	if err != nil {
		return err
	}
	cs, ok := r.status.Container(name)
	if !ok || cs.LogPath == "" {
		return fmt.Errorf("container %q in pod %q has not started yet", name, r.pod.Name)
	}
	path := cs.LogPath
	if *previous {
		if cs.RestartCount == 0 {
			return fmt.Errorf("previous terminated container %q in pod %q not found", name, r.pod.Name)
		}
		path = filepath.Join(filepath.Dir(path), fmt.Sprintf("%d.log", cs.RestartCount-1))
	}
	err = crilog.ReadLog(ctx, path, crilog.ReadOptions{Tail: *tail, Follow: *follow, Timestamps: *ts}, os.Stdout, os.Stderr)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// pickContainer resolves -c: the given container, or the only one.
// findContainer finds the pod a command names ("NAME" or "pod/NAME") and
// the container in it (-c, or the only one).
func findContainer(stateDir, ns, podArg, cname string) (podRef, string, error) {
	r, err := findPod(pod.Store{Dir: stateDir}, ns, strings.TrimPrefix(podArg, "pod/"))
	if err != nil {
		return podRef{}, "", err
	}
	name, err := pickContainer(r, cname)
	return r, name, err
}

func pickContainer(r podRef, name string) (string, error) {
	if name != "" {
		for _, list := range [][]string{names(r.pod.Spec.Containers), names(r.pod.Spec.InitContainers)} {
			for _, n := range list {
				if n == name {
					return name, nil
				}
			}
		}
		return "", fmt.Errorf("container %q is not valid for pod %q (choose one of: %s)", name, r.pod.Name, strings.Join(names(r.pod.Spec.Containers), " "))
	}
	if len(r.pod.Spec.Containers) == 1 {
		return r.pod.Spec.Containers[0].Name, nil
	}
	return "", fmt.Errorf("a container name must be specified for pod %s, choose one of: [%s]", r.pod.Name, strings.Join(names(r.pod.Spec.Containers), " "))
}
