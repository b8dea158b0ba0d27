package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// syncInit runs init containers one at a time, in order; it reports true
// once all have exited 0 (sidecars: once they run and have started). After
// that, only sidecars are looked after: kept running, restarted with the
// back-off.
func (w *Worker) syncInit(ctx context.Context, conts containerSet) bool {
	for i := range w.pod.Spec.InitContainers {
		c := &w.pod.Spec.InitContainers[i]
		st := conts[c.Name]
		if isSidecar(c) {
			if !w.syncSidecar(ctx, c, st) && !w.initialized {
				return false
			}
			continue
		}
		if w.initialized {
			continue
		}
		switch {
		case st == nil:
			w.start(ctx, c, w.nextAttempt[c.Name])
			return false
		case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			w.startCreated(ctx, c, st)
			return false
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if st.ExitCode == 0 {
				continue
			}
			// A failed init container fails the pod under Never; otherwise
			// it is retried (Always counts as OnFailure for init).
			if w.pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				w.initFailed = true
				return false
			}
			w.restart(ctx, c, st)
			return false
		default:
			return false // running or unknown: wait for it
		}
	}
	w.initialized = true
	return true
}

// isSidecar reports a restartable init container (restartPolicy: Always):
// it starts in order with the init containers and runs beside the app.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// syncSidecar keeps a sidecar running; it reports true once it runs and
// its startup probe (if any) has succeeded.
func (w *Worker) syncSidecar(ctx context.Context, c *corev1.Container, st *runtimeapi.ContainerStatus) bool {
	switch {
	case st == nil:
		w.start(ctx, c, w.nextAttempt[c.Name])
	case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
		w.startCreated(ctx, c, st)
	case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
		w.restart(ctx, c, st)
	case st.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
		return w.probesFor(c, st).started()
	}
	return false
}

// stopSidecars stops the running sidecars, last first, once the app
// containers are done for good, as the kubelet does.
func (w *Worker) stopSidecars(ctx context.Context, conts containerSet) {
	for i := len(w.pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &w.pod.Spec.InitContainers[i]
		if st := conts[c.Name]; isSidecar(c) && st != nil && st.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			w.kill(ctx, c, st.Id, "Completed", "the pod's containers finished")
		}
	}
}

// syncApps starts app containers that never ran and restarts exited ones
// as the restart policy says.
func (w *Worker) syncApps(ctx context.Context, conts containerSet) {
	for i := range w.pod.Spec.Containers {
		c := &w.pod.Spec.Containers[i]
		st := conts[c.Name]
		switch {
		case st == nil:
			w.start(ctx, c, w.nextAttempt[c.Name])
		case st.State == runtimeapi.ContainerState_CONTAINER_CREATED:
			w.startCreated(ctx, c, st)
		case st.State == runtimeapi.ContainerState_CONTAINER_EXITED:
			if shouldRestart(w.pod.Spec.RestartPolicy, st.ExitCode) {
				w.restart(ctx, c, st)
			}
		}
	}
}

func shouldRestart(p corev1.RestartPolicy, exitCode int32) bool {
	switch p {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func backoffKey(p *corev1.Pod, container string) string { return string(p.UID) + "/" + container }

// restart starts the next attempt of an exited container unless it is in
// back-off; the previous instance is kept (for `logs --previous`), older
// ones removed.
func (w *Worker) restart(ctx context.Context, c *corev1.Container, st *runtimeapi.ContainerStatus) {
	key := backoffKey(w.pod, c.Name)
	finished := time.Unix(0, st.FinishedAt)
	now := w.cfg.Clock.Now()
	if in, _ := w.cfg.Backoff.InBackoff(key, finished, now); in {
		// The message names the delay, not the time left, so that it does
		// not change (and get reported) every second.
		w.waiting[c.Name] = waitReason{"CrashLoopBackOff",
			fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", w.cfg.Backoff.Delay(key), c.Name, w.pod.Name)}
		return
	}
	w.cfg.Backoff.Next(key, finished)
	attempt := uint32(0)
	if st.Metadata != nil {
		attempt = st.Metadata.Attempt + 1
	}
	delete(w.probes, st.Id)
	if w.start(ctx, c, attempt) {
		w.removeOlder(ctx, c.Name, attempt-1)
	}
}

// removeOlder removes instances of container name older than keep.
func (w *Worker) removeOlder(ctx context.Context, name string, keep uint32) {
	resp, err := w.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: w.sandboxID}})
	if err != nil {
		return
	}
	for _, c := range resp.Containers {
		if c.Metadata != nil && c.Metadata.Name == name && c.Metadata.Attempt < keep && c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			_, _ = w.cfg.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.Id})
			delete(w.killed, c.Id)
		}
	}
}

// start pulls, creates and starts one container instance, then runs its
// postStart hook. It reports whether the container was started.
func (w *Worker) start(ctx context.Context, c *corev1.Container, attempt uint32) bool {
	image, err := w.ensureImage(ctx, c)
	if err != nil {
		return false
	}
	if reason, err := w.checkNonRoot(ctx, c, image); err != nil {
		w.waiting[c.Name] = waitReason{reason, err.Error()}
		w.event("Warning", "Failed", fmt.Sprintf("Error: %v", err))
		return false
	}
	cfg, err := ContainerConfig(w.pod, ContainerInput{
		Container: c, Attempt: attempt, Image: image, PodIP: w.podIP, Volumes: w.volumes, Objects: w.objs,
		SubPathsDir: w.subPathsDir(),
	})
	if err != nil {
		w.waiting[c.Name] = waitReason{"CreateContainerConfigError", err.Error()}
		w.event("Warning", "Failed", "Error: "+err.Error())
		return false
	}
	resp, err := w.cfg.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: w.sandboxID, Config: cfg, SandboxConfig: w.sandboxCfg,
	})
	if err != nil {
		w.waiting[c.Name] = waitReason{"CreateContainerError", err.Error()}
		w.event("Warning", "Failed", "Error: "+err.Error())
		return false
	}
	w.event("Normal", "Created", "Created container "+c.Name)
	return w.startID(ctx, c, resp.ContainerId)
}

// subPathsDir is where sub path mounts are pinned; only root may mount
// (others get sub paths resolved inside the volume, and a window).
func (w *Worker) subPathsDir() string {
	if os.Geteuid() != 0 {
		return ""
	}
	return SubPathsDir(w.podDir)
}

// startCreated starts an instance left created (a start that failed or
// was interrupted).
func (w *Worker) startCreated(ctx context.Context, c *corev1.Container, st *runtimeapi.ContainerStatus) {
	w.startID(ctx, c, st.Id)
}

func (w *Worker) startID(ctx context.Context, c *corev1.Container, id string) bool {
	if _, err := w.cfg.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		w.waiting[c.Name] = waitReason{"RunContainerError", err.Error()}
		w.event("Warning", "Failed", "Error: "+err.Error())
		// Leave nothing half-made behind: the next sync creates anew.
		_, _ = w.cfg.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
		return false
	}
	delete(w.waiting, c.Name)
	w.event("Normal", "Started", "Started container "+c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		t := ProbeTarget{ContainerID: id, Container: c, Host: w.probeHost()}
		if err := w.cfg.Handler.Hook(ctx, t, c.Lifecycle.PostStart, w.grace()); err != nil {
			msg := fmt.Sprintf("PostStartHook failed: %v", err)
			w.event("Warning", "FailedPostStartHook", msg)
			w.kill(ctx, c, id, "FailedPostStartHook", msg)
		}
	}
	return true
}

// grace is the pod's termination grace period (default 30 s).
func (w *Worker) grace() time.Duration {
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil && *g >= 0 {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// kill stops a running container as the kubelet does: the preStop hook,
// then the stop signal with what remains of the grace period.
func (w *Worker) kill(ctx context.Context, c *corev1.Container, id, reason, msg string) {
	grace := w.grace()
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		start := time.Now()
		t := ProbeTarget{ContainerID: id, Container: c, Host: w.probeHost()}
		if err := w.cfg.Handler.Hook(ctx, t, c.Lifecycle.PreStop, grace); err != nil {
			w.event("Warning", "FailedPreStopHook", fmt.Sprintf("PreStopHook failed: %v", err))
		}
		grace -= time.Since(start)
		if grace < 2*time.Second {
			grace = 2 * time.Second // the kubelet's minimum after a preStop hook
		}
	}
	if reason != "" {
		w.killed[id] = reason
	}
	name := ""
	if c != nil {
		name = c.Name
	}
	w.event("Normal", "Killing", fmt.Sprintf("Stopping container %s%s", name, suffix(msg)))
	if _, err := w.cfg.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: int64(grace / time.Second)}); err != nil {
		w.event("Warning", "FailedKillContainer", err.Error())
	}
	delete(w.probes, id)
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// ensureImage makes c's image present per its pull policy and returns the
// reference to create from. Pull failures back off as the kubelet's do.
func (w *Worker) ensureImage(ctx context.Context, c *corev1.Container) (string, error) {
	if w.cfg.LocalImages != nil {
		handled, err := w.cfg.LocalImages.Ensure(ctx, c.Image)
		if err != nil {
			w.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
			w.event("Warning", "Failed", fmt.Sprintf("Failed to build local image %q: %v", c.Image, err))
			return "", err
		}
		if handled {
			return c.Image, nil
		}
	}
	policy := PullPolicy(c)
	if policy != corev1.PullAlways {
		st, err := w.cfg.Runtime.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: c.Image}})
		if err == nil && st.Image != nil {
			return imageRef(st.Image, c.Image), nil
		}
		if policy == corev1.PullNever {
			err := fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
			w.waiting[c.Name] = waitReason{"ErrImageNeverPull", err.Error()}
			w.event("Warning", "ErrImageNeverPull", err.Error())
			return "", err
		}
	}
	key := "pull/" + c.Image
	now := w.cfg.Clock.Now()
	if last, ok := w.pullFailed[c.Image]; ok {
		if in, _ := w.cfg.Backoff.InBackoff(key, last, now); in {
			w.waiting[c.Name] = waitReason{"ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image)}
			return "", errors.New("image pull back-off")
		}
	}
	w.event("Normal", "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	ref, err := w.pull(ctx, c.Image)
	if err != nil {
		w.pullFailed[c.Image] = now
		w.cfg.Backoff.Next(key, now)
		w.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
		w.event("Warning", "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		return "", err
	}
	delete(w.pullFailed, c.Image)
	w.cfg.Backoff.Reset(key)
	w.event("Normal", "Pulled", fmt.Sprintf("Successfully pulled image %q", c.Image))
	return ref, nil
}

func imageRef(img *runtimeapi.Image, fallback string) string {
	if img.Id != "" {
		return img.Id
	}
	return fallback
}

// pull tries each matching credential in turn (then none), as the kubelet
// does, and aggregates the errors.
func (w *Worker) pull(ctx context.Context, image string) (string, error) {
	secrets, missing := pullSecrets(w.pod, w.objs)
	for _, m := range missing {
		w.event("Warning", "FailedToRetrieveImagePullSecret", fmt.Sprintf("Unable to retrieve image pull secret %q; attempting to pull the image may not succeed", m))
	}
	auths, err := w.cfg.Credentials.Lookup(image, secrets)
	if err != nil {
		return "", err
	}
	if len(auths) == 0 {
		auths = []*runtimeapi.AuthConfig{nil}
	}
	var errs []string
	for _, a := range auths {
		resp, err := w.cfg.Runtime.PullImage(ctx, &runtimeapi.PullImageRequest{
			Image: &runtimeapi.ImageSpec{Image: image}, Auth: a, SandboxConfig: w.sandboxCfg,
		})
		if err == nil {
			if resp.ImageRef != "" {
				return resp.ImageRef, nil
			}
			return image, nil
		}
		errs = append(errs, err.Error())
	}
	return "", errors.New(strings.Join(errs, "; "))
}

// checkNonRoot enforces runAsNonRoot against the image's user when the pod
// gives no runAsUser, as the kubelet does.
func (w *Worker) checkNonRoot(ctx context.Context, c *corev1.Container, image string) (string, error) {
	if !RunAsNonRoot(w.pod, c) {
		return "", nil
	}
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil ||
		w.pod.Spec.SecurityContext != nil && w.pod.Spec.SecurityContext.RunAsUser != nil {
		return "", nil // checked by ContainerConfig
	}
	st, err := w.cfg.Runtime.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}})
	if err != nil || st.Image == nil {
		return "CreateContainerConfigError", fmt.Errorf("runAsNonRoot: cannot read the image's user: %v", err)
	}
	if st.Image.Uid != nil {
		if st.Image.Uid.Value == 0 {
			return "CreateContainerConfigError", errors.New("container has runAsNonRoot and image will run as root")
		}
		return "", nil
	}
	if st.Image.Username == "" || st.Image.Username == "root" {
		return "CreateContainerConfigError", errors.New("container has runAsNonRoot and image will run as root")
	}
	return "CreateContainerConfigError", fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", st.Image.Username)
}
