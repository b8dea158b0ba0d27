package playcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("get", command{summary: "get pods|jobs|deployments|services: list the pods (Jobs, Deployments, Services) play created (kubectl get)", run: runGet})
}

type podRef struct {
	applied *pod.Applied
	pod     *corev1.Pod
	status  pod.PodStatus
}

// listPods returns every recorded pod with its status, optionally in one
// namespace.
func listPods(store pod.Store, ns string) ([]podRef, error) {
	records, err := store.ListApplied()
	if err != nil {
		return nil, err
	}
	var out []podRef
	for _, a := range records {
		sts := statusesOf(store, a)
		byUID := map[string]pod.PodStatus{}
		for _, s := range sts {
			byUID[s.UID] = s
		}
		// During a StatefulSet's rolling update an ordinal is its old pod
		// until the new one starts.
		old := map[string]*corev1.Pod{}
		for _, o := range a.Replaced {
			if _, ok := store.ReadStatus(string(o.UID)); ok {
				old[o.Namespace+"/"+o.Name] = o
			}
		}
		for _, p := range store.PodsOf(a) {
			if ns != "" && p.Namespace != ns {
				continue
			}
			_, started := store.ReadStatus(string(p.UID))
			if o := old[p.Namespace+"/"+p.Name]; o != nil && !started {
				st, _ := store.ReadStatus(string(o.UID))
				out = append(out, podRef{applied: a, pod: o, status: st})
				continue
			}
			out = append(out, podRef{applied: a, pod: p, status: byUID[string(p.UID)]})
		}
	}
	return out, nil
}

// findPod finds a recorded pod by namespace and name.
func findPod(store pod.Store, ns, name string) (podRef, error) {
	pods, err := listPods(store, ns)
	if err != nil {
		return podRef{}, err
	}
	for _, r := range pods {
		if r.pod.Name == name {
			return r, nil
		}
	}
	return podRef{}, fmt.Errorf("pod %q not found in namespace %q", name, ns)
}

func runGet(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("get", "pods|jobs|deployments|services [NAME] [flags]")
	f := addPlayFlags(fs)
	ns := fs.StringP("namespace", "n", pod.DefaultNamespace, "namespace")
	all := fs.BoolP("all-namespaces", "A", false, "all namespaces")
	output := fs.StringP("output", "o", "", "output: wide, name, json or yaml")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || (fs.Arg(0) != "pods" && fs.Arg(0) != "pod" && fs.Arg(0) != "po" && !isJobs(fs.Arg(0)) && !isDeployments(fs.Arg(0)) && !isServices(fs.Arg(0))) {
		return errors.New("usage: dockerlet get pods|jobs|deployments|services [NAME] [-n NS | -A] [-o wide|name|json|yaml]")
	}
	switch *output {
	case "", "wide", "name", "json", "yaml":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json, name, wide, yaml", *output)
	}
	if *all {
		*ns = ""
	}
	store := pod.Store{Dir: f.stateDir}
	if isJobs(fs.Arg(0)) {
		return getJobs(os.Stdout, store, *ns, fs.Arg(1), *output, *all)
	}
	if isDeployments(fs.Arg(0)) {
		return getDeployments(os.Stdout, store, *ns, fs.Arg(1), *output, *all)
	}
	if isServices(fs.Arg(0)) {
		return getServices(os.Stdout, store, *ns, fs.Arg(1), *output, *all)
	}
	pods, err := listPods(store, *ns)
	if err != nil {
		return err
	}
	if fs.NArg() > 1 {
		var sel []podRef
		for _, r := range pods {
			if r.pod.Name == fs.Arg(1) {
				sel = append(sel, r)
			}
		}
		if len(sel) == 0 {
			return fmt.Errorf("pod %q not found", fs.Arg(1))
		}
		pods = sel
	}
	if len(pods) > 0 && !supervisorRunning(store) {
		fmt.Fprintln(os.Stderr, "warning: no supervisor is running (dockerlet play -d or dockerlet supervise): states read from the runtime, restart policies and probes are not applied")
		if err := observe(ctx, f, pods); err != nil {
			return err
		}
	}
	switch *output {
	case "json", "yaml":
		return printObjects(os.Stdout, *output, pods, fs.NArg() > 1)
	case "name":
		for _, r := range pods {
			fmt.Println("pod/" + cli.SafeText(r.pod.Name))
		}
		return nil
	}
	if len(pods) == 0 {
		fmt.Fprintln(os.Stderr, "No resources found.")
		return nil
	}
	tw := tabwriter.NewWriter(cli.SafeWriter(os.Stdout), 0, 4, 3, ' ', 0)
	hdr := "NAME\tREADY\tSTATUS\tRESTARTS\tAGE"
	if *all {
		hdr = "NAMESPACE\t" + hdr
	}
	if *output == "wide" {
		hdr += "\tIP\tSOURCE"
	}
	fmt.Fprintln(tw, hdr)
	now := time.Now()
	for _, r := range pods {
		s := r.status
		ready, total := s.ReadyCount()
		row := fmt.Sprintf("%s\t%d/%d\t%s\t%d\t%s", cli.SafeText(s.Name), ready, total, cli.SafeText(s.DisplayStatus()), s.Restarts(), age(s.Created, now))
		if *all {
			row = s.Namespace + "\t" + row
		}
		if *output == "wide" {
			ip := s.PodIP
			if ip == "" {
				ip = "<none>"
			}
			row += "\t" + cli.SafeText(ip) + "\t" + cli.SafeText(r.applied.Source)
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// observe replaces the recorded statuses by what the runtime reports, for
// when no supervisor keeps them current.
func observe(ctx context.Context, f *playFlags, pods []podRef) error {
	env, err := openPlayEnv(ctx, f)
	if err != nil {
		return err
	}
	defer env.Close()
	for i := range pods {
		r := &pods[i]
		prev := r.status
		w := pod.NewWorker(env.cfg, r.pod, r.applied.Objects(), r.applied.SourceID)
		r.status = w.Observe(ctx, &prev)
	}
	return nil
}
