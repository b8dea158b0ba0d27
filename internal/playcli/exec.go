package playcli

import (
	"context"
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("exec", command{summary: "exec POD [-c C] -- CMD: run a command in a play pod's container", run: runExec})
}

// exitStatus makes dockerlet exit with the command's own status.
type exitStatus int

func (e exitStatus) Error() string {
	return fmt.Sprintf("command terminated with exit code %d", int(e))
}
func (e exitStatus) ExitCode() int { return int(e) }

func runExec(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("exec", "POD [flags] -- COMMAND [ARGS...]")
	f := addPlayFlags(fs)
	ns := fs.StringP("namespace", "n", pod.DefaultNamespace, "namespace")
	cname := fs.StringP("container", "c", "", "container (default: the pod's only container)")
	timeout := fs.Duration("timeout", 0, "kill the command after this long (0: no limit; not with -i/-t)")
	stdin := fs.BoolP("stdin", "i", false, "pass standard input to the command")
	tty := fs.BoolP("tty", "t", false, "allocate a terminal")
	// -it and -ti are -i -t combined; --it and --ti, which the Go flag
	// package's spelling allowed, stay accepted.
	it := fs.Bool("it", false, "same as -i -t")
	fs.BoolVar(it, "ti", false, "same as -i -t")
	_ = fs.MarkHidden("it")
	_ = fs.MarkHidden("ti")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return errors.New("usage: dockerlet exec POD [-c CONTAINER] -- COMMAND [ARGS...]")
	}
	r, name, err := findContainer(f.stateDir, *ns, fs.Arg(0), *cname)
	if err != nil {
		return err
	}
	cs, ok := r.status.Container(name)
	if !ok || cs.State != pod.StateRunning {
		return fmt.Errorf("container %q in pod %q is not running", name, r.pod.Name)
	}
	if *it {
		*stdin, *tty = true, true
	}
	f.streaming = *stdin || *tty
	env, err := openPlayEnv(ctx, f)
	if err != nil {
		return err
	}
	defer env.Close()
	if f.streaming {
		return execStream(ctx, env, cs.ID, fs.Args()[1:], *stdin, *tty)
	}
	resp, err := env.svc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: cs.ID, Cmd: fs.Args()[1:], Timeout: int64(timeout.Seconds())})
	if err != nil {
		return err
	}
	os.Stdout.Write(resp.Stdout)
	os.Stderr.Write(resp.Stderr)
	if resp.ExitCode != 0 {
		return exitStatus(resp.ExitCode)
	}
	return nil
}

func names(cs []corev1.Container) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
