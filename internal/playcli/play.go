package playcli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("play", command{summary: "run Kubernetes pod YAML (FILE|DIR|-) on this Docker host", run: runPlay})
}

type playOpts struct {
	*playFlags
	daemon  bool
	wait    bool
	timeout time.Duration
	logs    bool
	name    string
	replace bool
	publish string
}

func parsePlayFlags(args []string) (*playOpts, string, error) {
	fs := cli.NewFlagSet("play", "[flags] FILE|DIR|-")
	o := &playOpts{playFlags: addPlayFlags(fs)}
	fs.BoolVarP(&o.daemon, "daemon", "d", false, "leave a background supervisor running the pods and return")
	fs.BoolVar(&o.wait, "wait", false, "return when every pod is Ready (or has Succeeded); implies -d")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "with --wait: give up after this long")
	fs.BoolVar(&o.logs, "logs", false, "stream the containers' logs (foreground)")
	fs.StringVar(&o.name, "name", "", "with -: the name of what stdin holds (default: derived from its pods), for down --name")
	fs.BoolVar(&o.replace, "replace", false, "remove and re-create pods of the same name, whoever played them")
	fs.StringVar(&o.publish, "publish-address", pod.DefaultPublishAddress, "the host address NodePort and LoadBalancer Services are published on (0.0.0.0: every address)")
	if err := cli.Parse(fs, args); err != nil {
		return nil, "", err
	}
	if fs.NArg() != 1 {
		return nil, "", errors.New("want exactly one FILE, DIR or - (dockerlet help play)")
	}
	if o.wait {
		o.daemon = true
	}
	if net.ParseIP(o.publish) == nil {
		return nil, "", fmt.Errorf("--publish-address %q: not an IP address", o.publish)
	}
	return o, fs.Arg(0), nil
}

func runPlay(ctx context.Context, args []string) error {
	o, path, err := parsePlayFlags(args)
	if err != nil {
		return err
	}
	m, err := pod.Load(path, os.Stdin)
	if err != nil {
		return err
	}
	if err := m.NameStdin(o.name); err != nil {
		return err
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", cli.SafeText(w.String()))
	}
	if len(m.Pods) == 0 && len(m.Jobs) == 0 && len(m.Deployments) == 0 {
		return fmt.Errorf("%s: no pods (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet or Job)", path)
	}
	env, err := openPlayEnv(ctx, o.playFlags)
	if err != nil {
		return err
	}
	defer env.Close()

	a, err := apply(ctx, env, m, o.replace, o.publish)
	if err != nil {
		return err
	}
	if o.daemon {
		started, err := startDaemon(o.playFlags)
		if err != nil {
			return err
		}
		for _, p := range a.Pods {
			fmt.Printf("pod/%s created\n", p.Name)
		}
		for _, d := range a.Deployments {
			fmt.Printf("deployment.apps/%s configured\n", d.Name)
		}
		for _, j := range a.Jobs {
			fmt.Printf("job.batch/%s created\n", j.Name)
		}
		printPublished(os.Stdout, a)
		if started {
			fmt.Fprintf(os.Stderr, "background supervisor started (log: %s)\n", env.store.LogFile())
		}
		if !o.wait {
			return nil
		}
		return waitReady(ctx, env.store, a, o.timeout)
	}
	printPublished(os.Stderr, a)
	return playForeground(ctx, env, a, o)
}

// printPublished says where the NodePort and LoadBalancer Services are
// published on this host (their node ports may have been allocated).
func printPublished(w io.Writer, a *pod.Applied) {
	addr := cmp.Or(a.PublishAddress, pod.DefaultPublishAddress)
	for _, svc := range a.Services {
		var at []string
		for _, p := range pod.PublishedPorts(svc) {
			at = append(at, fmt.Sprintf("%s (%d/%s)", net.JoinHostPort(addr, strconv.Itoa(int(p.Host))), p.Port, p.Protocol))
		}
		if len(at) > 0 {
			fmt.Fprintf(w, "service/%s published on %s\n", cli.SafeText(svc.Name), strings.Join(at, ", "))
		}
	}
}

// apply records m, tearing down the pods of the previous apply of the same
// source that changed or went away. replace re-creates every pod, and
// takes over the names other sources hold.
func apply(ctx context.Context, env *playEnv, m *pod.Manifest, replace bool, publish string) (*pod.Applied, error) {
	prev, err := env.store.LoadApplied(pod.SourceID(m.Source))
	if err != nil {
		return nil, err
	}
	keepFrom := prev
	if replace {
		keepFrom = nil
	}
	a := pod.NewApplied(m, keepFrom, time.Now())
	if publish != pod.DefaultPublishAddress {
		a.PublishAddress = publish
	}
	// Pod names must not clash with another manifest's pods.
	if err := claimNames(ctx, env, a, replace); err != nil {
		return nil, err
	}
	// Node ports after the names: a --replace may have freed some.
	others, err := env.store.ListApplied()
	if err != nil {
		return nil, err
	}
	if err := pod.AllocateNodePorts(a, prev, others); err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, p := range a.Pods {
		keep[string(p.UID)] = true
	}
	for _, j := range a.Jobs {
		keep[string(j.UID)] = true
	}
	for _, d := range a.Deployments {
		keep[string(d.UID)] = true
	}
	gone := &pod.Applied{}
	if prev != nil {
		gone = &pod.Applied{Source: prev.Source, SourceID: prev.SourceID, Secrets: prev.Secrets, ConfigMaps: prev.ConfigMaps}
		if replace {
			gone.Pods = append(append(gone.Pods, prev.Replaced...), prev.Pods...)
		} else {
			// A StatefulSet's changed ordinals are replaced one at a time,
			// highest first, by the supervisor; other pods go now.
			a.Replaced, gone.Pods = env.store.ReplacedPods(a, prev, keep)
		}
	}
	if err := env.store.SaveApplied(a); err != nil {
		return nil, err
	}
	if prev != nil {
		// A Job that changed or left the file goes with its pods, as a
		// Job deleted with the default propagation does.
		for _, j := range prev.Jobs {
			if !keep[string(j.UID)] {
				gone.Jobs = append(gone.Jobs, j)
			}
		}
		for _, d := range prev.Deployments {
			if !keep[string(d.UID)] {
				gone.Deployments = append(gone.Deployments, d)
			}
		}
		removePods(ctx, env, gone)
	}
	return a, nil
}

// claimNames fails when another source's pod has the name of one of a's;
// with replace, that pod is removed from the other source instead.
func claimNames(ctx context.Context, env *playEnv, a *pod.Applied, replace bool) error {
	others, err := env.store.ListApplied()
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, p := range a.Pods {
		mine[p.Namespace+"/"+p.Name] = true
	}
	for _, j := range a.Jobs {
		mine["job:"+j.Namespace+"/"+j.Name] = true
	}
	for _, d := range a.Deployments {
		mine["deployment:"+d.Namespace+"/"+d.Name] = true
	}
	for _, o := range others {
		if o.SourceID == a.SourceID {
			continue
		}
		gone := &pod.Applied{Source: o.Source, SourceID: o.SourceID}
		var kept []*corev1.Pod
		for _, op := range o.Pods {
			if !mine[op.Namespace+"/"+op.Name] {
				kept = append(kept, op)
				continue
			}
			if !replace {
				return fmt.Errorf("pod %s/%s already exists (created by %s); run dockerlet down %s first, or play --replace", op.Namespace, op.Name, o.Source, downArg(o.Source))
			}
			gone.Pods = append(gone.Pods, op)
		}
		var keptJobs []*batchv1.Job
		for _, oj := range o.Jobs {
			if !mine["job:"+oj.Namespace+"/"+oj.Name] {
				keptJobs = append(keptJobs, oj)
				continue
			}
			if !replace {
				return fmt.Errorf("job %s/%s already exists (created by %s); run dockerlet down %s first, or play --replace", oj.Namespace, oj.Name, o.Source, downArg(o.Source))
			}
			gone.Jobs = append(gone.Jobs, oj)
		}
		var keptDeployments []*appsv1.Deployment
		for _, od := range o.Deployments {
			if !mine["deployment:"+od.Namespace+"/"+od.Name] {
				keptDeployments = append(keptDeployments, od)
				continue
			}
			if !replace {
				return fmt.Errorf("deployment %s/%s already exists (created by %s); run dockerlet down %s first, or play --replace", od.Namespace, od.Name, o.Source, downArg(o.Source))
			}
			gone.Deployments = append(gone.Deployments, od)
		}
		if len(gone.Pods) == 0 && len(gone.Jobs) == 0 && len(gone.Deployments) == 0 {
			continue
		}
		o.Pods, o.Jobs, o.Deployments = kept, keptJobs, keptDeployments
		if len(kept) == 0 && len(keptJobs) == 0 && len(keptDeployments) == 0 {
			err = env.store.DeleteApplied(o.SourceID)
		} else {
			err = env.store.SaveApplied(o)
		}
		if err != nil {
			return err
		}
		gone.Secrets, gone.ConfigMaps = o.Secrets, o.ConfigMaps
		removePods(ctx, env, gone)
	}
	return nil
}

// removePods tears down pods whose record is gone (after a running
// supervisor let go of them), and gone's Jobs with the pods they made.
func removePods(ctx context.Context, env *playEnv, gone *pod.Applied) {
	if (len(gone.Pods) > 0 || len(gone.Jobs) > 0 || len(gone.Deployments) > 0) && supervisorRunning(env.store) {
		pod.WaitReleased(ctx, env.store, env.store.PodsOf(gone), 10*time.Second)
	}
	var wg sync.WaitGroup
	for _, p := range env.store.PodsOf(gone) {
		wg.Go(func() {
			w := pod.NewWorker(env.cfg, p, gone.Objects(), gone.SourceID)
			if err := w.Teardown(ctx); err != nil {
				env.logger.Warn("removing a replaced pod", "pod", p.Name, "error", err)
			}
			env.store.DeleteStatus(string(p.UID))
		})
	}
	wg.Wait()
	for _, j := range gone.Jobs {
		env.store.DeleteJob(string(j.UID))
	}
	for _, d := range gone.Deployments {
		env.store.DeleteDeployment(string(d.UID))
	}
}

// downArg is what `dockerlet down` takes to remove source.
func downArg(source string) string {
	if name, ok := strings.CutPrefix(source, pod.StdinPrefix); ok {
		return "--name " + name
	}
	return source
}

// statusesOf returns the recorded statuses of a's pods (Pending for a pod
// the supervisor has not seen yet).
func statusesOf(store pod.Store, a *pod.Applied) []pod.PodStatus {
	var out []pod.PodStatus
	for _, p := range store.PodsOf(a) {
		st, ok := store.ReadStatus(string(p.UID))
		if !ok {
			st = pod.PodStatus{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), Phase: corev1.PodPending, Created: p.CreationTimestamp.Time}
			for _, c := range p.Spec.Containers {
				st.Containers = append(st.Containers, pod.ContainerStatus{Name: c.Name, Image: c.Image, State: pod.StateWaiting, Reason: "ContainerCreating"})
			}
		}
		out = append(out, st)
	}
	pod.SortStatuses(out)
	return out
}

// playForeground supervises in this process (or watches the running
// supervisor) and shows the pods until interrupted; then it tears down
// what this manifest created.
func playForeground(ctx context.Context, env *playEnv, a *pod.Applied, o *playOpts) error {
	lock, ok, err := lockSupervisor(env.store)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	supCtx, stopSup := context.WithCancel(context.WithoutCancel(ctx))
	if ok {
		env.takeOver(supCtx)
		sup := pod.NewSupervisor(env.cfg, env.store, nil)
		wg.Add(1)
		go func() { defer wg.Done(); _ = sup.Run(supCtx) }()
	} else {
		fmt.Fprintln(os.Stderr, "a background supervisor runs these pods; showing their state")
	}
	if o.logs {
		wg.Add(1)
		go func() { defer wg.Done(); streamLogs(supCtx, env.store, a, os.Stdout) }()
	}
	show(ctx, env.store, a, o.logs)

	fmt.Fprintln(os.Stderr, "\nstopping: removing the pods of", a.Source)
	stopSup()
	wg.Wait()
	if lock != nil {
		lock.Unlock()
	}
	downCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pod.Down(downCtx, env.cfg, env.store, a.SourceID, pod.DownOptions{Supervised: !ok && supervisorRunning(env.store)}); err != nil {
		return err
	}
	// This process supervised every recorded pod; others must not be left
	// without restart policies and probes.
	if rest, err := env.store.ListApplied(); err == nil && len(rest) > 0 && ok {
		if _, err := startDaemon(o.playFlags); err != nil {
			return fmt.Errorf("the pods of %d other manifest(s) need a supervisor: %w", len(rest), err)
		}
		fmt.Fprintf(os.Stderr, "a background supervisor took over the pods of %d other manifest(s)\n", len(rest))
	}
	return nil
}

// show redraws the table on a terminal, or prints changes as lines, until
// ctx ends.
func show(ctx context.Context, store pod.Store, a *pod.Applied, logs bool) {
	tty := cli.IsTerminal(os.Stdout) && !logs
	lines := newLineReporter(os.Stdout)
	pulls := newPullLines(os.Stdout)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		sts := statusesOf(store, a)
		if tty {
			var b strings.Builder
			b.WriteString(clearScreen)
			writeContainerTable(&b, sts, time.Now())
			if p := store.ReadPulls(); len(p) > 0 {
				b.WriteString("\n")
				writePullBars(&b, p)
			}
			b.WriteString("\nCtrl-C stops and removes these pods.\n")
			fmt.Print(b.String())
		} else {
			lines.report(sts)
			pulls.report(store.ReadPulls())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
