package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// act carries out a plan, one CRI call at a time: the executor decides
// nothing a plan could (see worker_plan.go), it only does and records.
func (w *Worker) act(ctx context.Context, plan []action) {
	for _, a := range plan {
		switch a.kind {
		case actStart:
			w.start(ctx, a.container, a.attempt)
		case actStartCreated:
			w.startID(ctx, a.container, a.status.Id)
		case actRestart:
			w.restart(ctx, a.container, a.status, a.attempt)
		case actBackOff:
			w.mem.waiting[a.container.Name] = waitReason{a.reason, a.message}
		case actFailInit:
			w.mem.initFailed = true
		case actInitialized:
			w.mem.initialized = true
		case actKill:
			w.kill(ctx, a.container, a.status.Id, a.reason, a.message)
		}
	}
}

// restart starts attempt after the exited instance st: the restart counts
// against the back-off; the previous instance is kept (for
// `logs --previous`), older ones removed.
func (w *Worker) restart(ctx context.Context, c *corev1.Container, st *runtimeapi.ContainerStatus, attempt uint32) {
	w.cfg.Backoff.Next(backoffKey(w.pod, c.Name), time.Unix(0, st.FinishedAt))
	delete(w.mem.probes, st.Id)
	if w.start(ctx, c, attempt) {
		w.removeOlder(ctx, c.Name, attempt-1)
	}
}

// removeOlder removes instances of container name older than keep.
func (w *Worker) removeOlder(ctx context.Context, name string, keep uint32) {
	resp, err := w.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: w.mem.sandboxID}})
	if err != nil {
		return
	}
	for _, c := range resp.Containers {
		if c.Metadata != nil && c.Metadata.Name == name && c.Metadata.Attempt < keep && c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			_, _ = w.cfg.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.Id})
			delete(w.mem.killed, c.Id)
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
		w.mem.waiting[c.Name] = waitReason{reason, err.Error()}
		w.event("Warning", "Failed", fmt.Sprintf("Error: %v", err))
		return false
	}
	cfg, err := ContainerConfig(w.pod, ContainerInput{
		Container: c, Attempt: attempt, Image: image, PodIP: w.mem.podIP, Volumes: w.mem.volumes, Objects: w.objs,
		SubPathsDir: w.subPathsDir(), HostsPath: w.hostsPath(),
	})
	if err != nil {
		w.mem.waiting[c.Name] = waitReason{"CreateContainerConfigError", err.Error()}
		w.event("Warning", "Failed", "Error: "+err.Error())
		return false
	}
	resp, err := w.cfg.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: w.mem.sandboxID, Config: cfg, SandboxConfig: w.mem.sandboxCfg,
	})
	if err != nil {
		w.mem.waiting[c.Name] = waitReason{"CreateContainerError", errText(err, "")}
		w.event("Warning", "Failed", "Error: "+errText(err, ""))
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

func (w *Worker) startID(ctx context.Context, c *corev1.Container, id string) bool {
	if _, err := w.cfg.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		w.mem.waiting[c.Name] = waitReason{"RunContainerError", errText(err, "")}
		w.event("Warning", "Failed", "Error: "+errText(err, ""))
		// Leave nothing half-made behind: the next sync creates anew.
		_, _ = w.cfg.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
		return false
	}
	delete(w.mem.waiting, c.Name)
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
	if w.graceOverride != nil {
		return *w.graceOverride
	}
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
		w.mem.killed[id] = reason
	}
	name := ""
	if c != nil {
		name = c.Name
	}
	w.event("Normal", "Killing", fmt.Sprintf("Stopping container %s%s", name, suffix(msg)))
	if _, err := w.cfg.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: int64(grace / time.Second)}); err != nil {
		w.event("Warning", "FailedKillContainer", err.Error())
	}
	delete(w.mem.probes, id)
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
			w.mem.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
			w.event("Warning", "Failed", fmt.Sprintf("Failed to build local image %q: %v", c.Image, err))
			return "", err
		}
		if handled {
			return c.Image, nil
		}
	}
	var present *runtimeapi.Image
	if PullPolicy(c) != corev1.PullAlways {
		if st, err := w.cfg.Runtime.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: c.Image}}); err == nil {
			present = st.Image
		}
	}
	now := w.cfg.Clock.Now()
	key := pullKey(c.Image)
	switch step := planImage(c, present, &w.mem, w.cfg.Backoff, now); step {
	case imageUse:
		return imageRef(present, c.Image), nil
	case imageNeverPull:
		err := fmt.Errorf("container image %q is not present with pull policy of Never", c.Image)
		w.mem.waiting[c.Name] = waitReason{"ErrImageNeverPull", err.Error()}
		w.event("Warning", "ErrImageNeverPull", err.Error())
		return "", err
	case imagePullBackOff:
		w.mem.waiting[c.Name] = waitReason{"ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image)}
		return "", errors.New("image pull back-off")
	}
	w.event("Normal", "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	ref, err := w.pull(ctx, c.Image)
	if err != nil {
		w.mem.pullFailed[c.Image] = now
		w.cfg.Backoff.Next(key, now)
		w.mem.waiting[c.Name] = waitReason{"ErrImagePull", err.Error()}
		w.event("Warning", "Failed", fmt.Sprintf("Failed to pull image %q: %s", c.Image, err))
		return "", err
	}
	delete(w.mem.pullFailed, c.Image)
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
			Image: &runtimeapi.ImageSpec{Image: image}, Auth: a, SandboxConfig: w.mem.sandboxCfg,
		})
		if err == nil {
			if resp.ImageRef != "" {
				return resp.ImageRef, nil
			}
			return image, nil
		}
		errs = append(errs, errText(err, image))
	}
	return "", errors.New(strings.Join(slices.Compact(errs), "; "))
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
