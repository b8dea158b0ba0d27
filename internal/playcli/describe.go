package playcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

func init() {
	register("describe", command{summary: "describe pod|job NAME: a pod's containers, probes, volumes and events, or a Job's status", run: runDescribe})
}

func runDescribe(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("describe", "pod|job NAME [flags]")
	f := addPlayFlags(fs)
	ns := fs.StringP("namespace", "n", pod.DefaultNamespace, "namespace")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "pod" && fs.Arg(0) != "pods" && fs.Arg(0) != "po" && !isJobs(fs.Arg(0))) {
		return errors.New("usage: dockerlet describe pod|job NAME [-n NS]")
	}
	store := pod.Store{Dir: f.stateDir}
	if isJobs(fs.Arg(0)) {
		jobs, err := listJobs(store, *ns, fs.Arg(1))
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			return fmt.Errorf("job %q not found in namespace %q", fs.Arg(1), *ns)
		}
		describeJob(cli.SafeWriter(os.Stdout), jobs[0], time.Now())
		return nil
	}
	r, err := findPod(store, *ns, fs.Arg(1))
	if err != nil {
		return err
	}
	if !supervisorRunning(store) {
		fmt.Fprintln(os.Stderr, "warning: no supervisor is running: state read from the runtime")
		pods := []podRef{r}
		if err := observe(ctx, f, pods); err != nil {
			return err
		}
		r = pods[0]
	}
	describe(cli.SafeWriter(os.Stdout), r, time.Now())
	return nil
}

func describe(out io.Writer, r podRef, now time.Time) {
	p, s := r.pod, r.status
	w := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	kv := func(indent int, k, v string) {
		fmt.Fprintf(w, "%s%s:\t%s\n", strings.Repeat("  ", indent), k, v)
	}
	kv(0, "Name", cli.SafeText(p.Name))
	kv(0, "Namespace", cli.SafeText(p.Namespace))
	kv(0, "UID", cli.SafeText(string(p.UID)))
	kv(0, "Source", cli.SafeText(r.applied.Source))
	if !s.StartTime.IsZero() {
		kv(0, "Start Time", s.StartTime.Format(time.RFC1123Z))
	}
	kv(0, "Labels", mapLines(p.Labels, 0))
	kv(0, "Annotations", mapLines(p.Annotations, 0))
	kv(0, "Status", cli.SafeText(s.DisplayStatus()))
	if s.Message != "" {
		kv(0, "Message", cli.SafeText(s.Message))
	}
	kv(0, "IP", cli.SafeText(orNone(s.PodIP)))
	kv(0, "Restart Policy", cli.SafeText(string(orDefault(p.Spec.RestartPolicy, corev1.RestartPolicyAlways))))
	if len(p.Spec.InitContainers) > 0 {
		fmt.Fprintln(w, "Init Containers:")
		for i := range p.Spec.InitContainers {
			describeContainer(w, &p.Spec.InitContainers[i], s, now)
		}
	}
	fmt.Fprintln(w, "Containers:")
	for i := range p.Spec.Containers {
		describeContainer(w, &p.Spec.Containers[i], s, now)
	}
	fmt.Fprintln(w, "Conditions:")
	fmt.Fprintf(w, "  Ready:\t%v\n", s.Ready)
	if len(p.Spec.Volumes) > 0 {
		fmt.Fprintln(w, "Volumes:")
		for _, v := range p.Spec.Volumes {
			fmt.Fprintf(w, "  %s:\t%s\n", cli.SafeText(v.Name), cli.SafeText(volumeKind(v)))
		}
	}
	w.Flush()
	fmt.Fprintln(out, "Events:")
	if len(s.Events) == 0 {
		fmt.Fprintln(out, "  <none>")
		return
	}
	ew := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(ew, "  Type\tReason\tAge\tMessage")
	for _, e := range s.Events {
		when := age(e.Time, now)
		if e.Count > 1 {
			when += fmt.Sprintf(" (x%d over %s)", e.Count, age(e.First, now))
		}
		fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\n", cli.SafeText(e.Type), cli.SafeText(e.Reason), when, cli.SafeText(e.Message))
	}
	ew.Flush()
}

func describeContainer(w io.Writer, c *corev1.Container, s pod.PodStatus, now time.Time) {
	fmt.Fprintf(w, "  %s:\n", c.Name)
	cs, ok := s.Container(c.Name)
	if ok && cs.ID != "" {
		fmt.Fprintf(w, "    Container ID:\t%s\n", cs.ID)
	}
	fmt.Fprintf(w, "    Image:\t%s\n", cli.SafeText(c.Image))
	fmt.Fprintf(w, "    Image Pull Policy:\t%s\n", pod.PullPolicy(c))
	for _, p := range c.Ports {
		hp := ""
		if p.HostPort != 0 {
			hp = fmt.Sprintf(" (host %d)", p.HostPort)
		}
		fmt.Fprintf(w, "    Port:\t%d/%s%s\n", p.ContainerPort, orDefault(p.Protocol, corev1.ProtocolTCP), hp)
	}
	if len(c.Command) > 0 {
		fmt.Fprintf(w, "    Command:\t%s\n", cli.SafeText(strings.Join(c.Command, " ")))
	}
	if len(c.Args) > 0 {
		fmt.Fprintf(w, "    Args:\t%s\n", cli.SafeText(strings.Join(c.Args, " ")))
	}
	if ok {
		fmt.Fprintf(w, "    State:\t%s\n", cli.SafeText(cs.State))
		if cs.Reason != "" {
			fmt.Fprintf(w, "      Reason:\t%s\n", cli.SafeText(cs.Reason))
		}
		if cs.Message != "" {
			fmt.Fprintf(w, "      Message:\t%s\n", cli.SafeText(firstLine(cs.Message)))
		}
		if cs.State == pod.StateTerminated || cs.Reason == "CrashLoopBackOff" {
			fmt.Fprintf(w, "      Exit Code:\t%d\n", cs.ExitCode)
		}
		if !cs.StartedAt.IsZero() {
			fmt.Fprintf(w, "      Started:\t%s (%s ago)\n", cs.StartedAt.Format(time.RFC1123Z), age(cs.StartedAt, now))
		}
		if !cs.FinishedAt.IsZero() {
			fmt.Fprintf(w, "      Finished:\t%s\n", cs.FinishedAt.Format(time.RFC1123Z))
		}
		fmt.Fprintf(w, "    Ready:\t%v\n", cs.Ready)
		fmt.Fprintf(w, "    Restart Count:\t%d\n", cs.RestartCount)
	}
	if l := c.Resources.Limits; len(l) > 0 {
		var parts []string
		for k, v := range l {
			parts = append(parts, fmt.Sprintf("%s: %s", k, v.String()))
		}
		sort.Strings(parts)
		fmt.Fprintf(w, "    Limits:\t%s\n", strings.Join(parts, ", "))
	}
	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
		if pr.p != nil {
			fmt.Fprintf(w, "    %s:\t%s\n", pr.name, cli.SafeText(probeLine(pr.p)))
		}
	}
	if len(c.Env) > 0 || len(c.EnvFrom) > 0 {
		fmt.Fprintln(w, "    Environment:")
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil {
				v = "<set from a reference>"
			}
			fmt.Fprintf(w, "      %s:\t%s\n", cli.SafeText(e.Name), cli.SafeText(v))
		}
	}
	if len(c.VolumeMounts) > 0 {
		fmt.Fprintln(w, "    Mounts:")
		for _, m := range c.VolumeMounts {
			ro := "rw"
			if m.ReadOnly {
				ro = "ro"
			}
			fmt.Fprintf(w, "      %s from %s (%s)\n", cli.SafeText(m.MountPath), cli.SafeText(m.Name), ro)
		}
	}
}

func probeLine(p *corev1.Probe) string {
	var act string
	switch {
	case p.Exec != nil:
		act = "exec " + strings.Join(p.Exec.Command, " ")
	case p.HTTPGet != nil:
		act = fmt.Sprintf("http-get %s://:%s%s", strings.ToLower(string(orDefault(p.HTTPGet.Scheme, corev1.URISchemeHTTP))), p.HTTPGet.Port.String(), p.HTTPGet.Path)
	case p.TCPSocket != nil:
		act = "tcp-socket :" + p.TCPSocket.Port.String()
	case p.GRPC != nil:
		act = fmt.Sprintf("grpc :%d", p.GRPC.Port)
	}
	return fmt.Sprintf("%s delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", act,
		p.InitialDelaySeconds, or32(p.TimeoutSeconds, 1), or32(p.PeriodSeconds, 10), or32(p.SuccessThreshold, 1), or32(p.FailureThreshold, 3))
}

func volumeKind(v corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return "EmptyDir (a directory under the play state dir)"
	case v.HostPath != nil:
		return "HostPath " + v.HostPath.Path
	case v.ConfigMap != nil:
		return "ConfigMap " + v.ConfigMap.Name
	case v.Secret != nil:
		return "Secret " + v.Secret.SecretName
	}
	return "unsupported"
}

func mapLines(m map[string]string, indent int) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, cli.SafeText(k+"="+m[k]))
	}
	return strings.Join(parts, "\n\t")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

func or32(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
