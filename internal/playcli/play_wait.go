package playcli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// waitError carries play --wait's exit status.
type waitError struct {
	code int
	msg  string
}

func (e *waitError) Error() string { return e.msg }
func (e *waitError) ExitCode() int { return e.code }

// Exit codes of play --wait.
const (
	exitPodFailed = 1
	exitTimeout   = 124 // as timeout(1)
)

// waitReady returns when every pod of a is Ready (or Succeeded), fails
// fast when one Failed, and gives up after timeout.
func waitReady(ctx context.Context, store pod.Store, a *pod.Applied, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tty := cli.IsTerminal(os.Stderr)
	lines := newLineReporter(os.Stderr)
	pulls := newPullLines(os.Stderr)
	drawn := 0
	for {
		sts := statusesOf(store, a)
		if tty {
			// Redraw the pods and pull bars in place.
			var b strings.Builder
			writeContainerTable(&b, sts, time.Now())
			writePullBars(&b, store.ReadPulls())
			if drawn > 0 {
				fmt.Fprintf(os.Stderr, "\x1b[%dA\x1b[J", drawn)
			}
			fmt.Fprint(os.Stderr, b.String())
			drawn = strings.Count(b.String(), "\n")
		} else {
			lines.report(sts)
			pulls.report(store.ReadPulls())
		}
		done, jobPods, err := jobsDone(store, a)
		if err != nil {
			return err
		}
		rolled, rollWhy := rolledOut(store, a)
		done = done && rolled
		for _, s := range sts {
			switch {
			case jobPods[s.UID]:
				// A Job's pod may fail: the Job replaces it, and the Job's
				// own status decides. One that cannot start fails fast.
				if reason, msg, stuck := s.Stuck(); stuck {
					line, _, _ := strings.Cut(msg, "\n")
					return &waitError{exitPodFailed, fmt.Sprintf("pod %s cannot start: %s: %s", s.Name, reason, cli.SafeText(line))}
				}
			case s.Phase == corev1.PodFailed:
				return &waitError{exitPodFailed, fmt.Sprintf("pod %s failed: %s", s.Name, failureReason(s))}
			case s.Phase == corev1.PodSucceeded:
			case !s.Ready:
				done = false
				if reason, msg, stuck := s.Stuck(); stuck {
					line, _, _ := strings.Cut(msg, "\n")
					return &waitError{exitPodFailed, fmt.Sprintf("pod %s cannot start: %s: %s", s.Name, reason, cli.SafeText(line))}
				}
			}
		}
		if done {
			var msg []string
			if n := len(sts) - len(jobPods); n > 0 || len(a.Jobs) == 0 {
				msg = append(msg, fmt.Sprintf("all %d pods ready", n))
			}
			if len(a.Jobs) > 0 {
				msg = append(msg, jobsSummary(store, a))
			}
			fmt.Fprintln(os.Stderr, strings.Join(msg, ", "))
			return nil
		}
		if time.Now().After(deadline) {
			var why []string
			for _, s := range sts {
				if !jobPods[s.UID] && !s.Ready && s.Phase != corev1.PodSucceeded {
					why = append(why, fmt.Sprintf("%s: %s", s.Name, notReadyReason(s)))
				}
			}
			for _, j := range a.Jobs {
				if st, _ := store.LoadJob(string(j.UID)); st == nil || st.Finished() == nil {
					why = append(why, "job "+j.Name+": "+jobProgress(j, st))
				}
			}
			if !rolled {
				why = append(why, rollWhy)
			}
			return &waitError{exitTimeout, fmt.Sprintf("timed out after %s waiting for pods to be ready: %s", timeout, strings.Join(why, "; "))}
		}
		select {
		case <-ctx.Done():
			return &waitError{130, "interrupted"}
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func failureReason(s pod.PodStatus) string {
	for _, c := range append(append([]pod.ContainerStatus(nil), s.InitContainers...), s.Containers...) {
		if c.State == pod.StateTerminated && c.ExitCode != 0 {
			return fmt.Sprintf("container %s exited with code %d (%s)", c.Name, c.ExitCode, c.Reason)
		}
	}
	if s.Reason != "" {
		return s.Reason + ": " + s.Message
	}
	return string(s.Phase)
}

func notReadyReason(s pod.PodStatus) string {
	for _, c := range append(append([]pod.ContainerStatus(nil), s.InitContainers...), s.Containers...) {
		if c.Ready || (c.State == pod.StateTerminated && c.ExitCode == 0) {
			continue
		}
		r := fmt.Sprintf("container %s %s", c.Name, containerState(c))
		if c.State == pod.StateRunning {
			r = fmt.Sprintf("container %s running but not ready", c.Name)
		}
		if c.Message != "" {
			r += ": " + firstLine(c.Message)
		}
		return r
	}
	if s.Message != "" {
		return s.DisplayStatus() + ": " + firstLine(s.Message)
	}
	return s.DisplayStatus()
}
