package playcli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// age renders a duration as kubectl does (5s, 3m, 2h, 4d).
func age(since time.Time, now time.Time) string {
	if since.IsZero() {
		return "<unknown>"
	}
	d := now.Sub(since)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// containerState is the STATE column of one container.
func containerState(c pod.ContainerStatus) string {
	s := c.State
	if c.Reason != "" {
		s += ":" + c.Reason
	}
	if c.State == pod.StateTerminated || c.Reason == "CrashLoopBackOff" {
		s += fmt.Sprintf("(%d)", c.ExitCode)
	}
	return s
}

// writeContainerTable prints one row per container: the live view of play.
func writeContainerTable(w io.Writer, sts []pod.PodStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "POD\tCONTAINER\tSTATE\tREADY\tRESTARTS\tAGE")
	for _, s := range sts {
		name := s.Name
		if s.Namespace != pod.DefaultNamespace {
			name = s.Namespace + "/" + s.Name
		}
		rows := append(append([]pod.ContainerStatus(nil), s.InitContainers...), s.Containers...)
		for i, c := range rows {
			cname := c.Name
			switch {
			case c.Sidecar:
				cname += " (sidecar)"
			case i < len(s.InitContainers):
				cname += " (init)"
			}
			since := c.StartedAt
			if since.IsZero() {
				since = s.Created
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%s\n", cli.SafeText(name), cli.SafeText(cname), cli.SafeText(containerState(c)), c.Ready, c.RestartCount, age(since, now))
		}
		if len(rows) == 0 {
			fmt.Fprintf(tw, "%s\t-\t%s\tfalse\t0\t%s\n", cli.SafeText(name), cli.SafeText(s.DisplayStatus()), age(s.Created, now))
		}
	}
	tw.Flush()
}

// lineReporter prints a line whenever a container's state, readiness or
// restart count changes: play's output when not on a terminal.
type lineReporter struct {
	w    io.Writer
	last map[string]string
}

func newLineReporter(w io.Writer) *lineReporter {
	return &lineReporter{w: w, last: map[string]string{}}
}

func (r *lineReporter) report(sts []pod.PodStatus) {
	for _, s := range sts {
		pk := s.Namespace + "/" + s.Name
		if line := fmt.Sprintf("pod %s: %s ready=%v", cli.SafeText(pk), cli.SafeText(s.DisplayStatus()), s.Ready); r.last[pk] != line {
			r.last[pk] = line
			fmt.Fprintln(r.w, line)
		}
		for _, c := range append(append([]pod.ContainerStatus(nil), s.InitContainers...), s.Containers...) {
			k := pk + "/" + c.Name
			line := fmt.Sprintf("pod %s container %s: %s ready=%v restarts=%d", cli.SafeText(pk), cli.SafeText(c.Name), cli.SafeText(containerState(c)), c.Ready, c.RestartCount)
			if c.Message != "" && c.State == pod.StateWaiting {
				line += " (" + cli.SafeText(firstLine(c.Message)) + ")"
			}
			if r.last[k] != line {
				r.last[k] = line
				fmt.Fprintln(r.w, line)
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// clearScreen moves the cursor home and clears the terminal.
const clearScreen = "\x1b[H\x1b[2J"
