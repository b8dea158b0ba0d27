package naming

// Every label and annotation dockerlet writes, with its meaning. Docker
// labels are dockerlet's database: a restarted server knows what it made
// from them (and small checkpoint files) alone.

// Docker labels on every container dockerlet creates (sandboxes and
// containers alike, unless noted).
const (
	// LabelPrefix prefixes every Docker label dockerlet writes.
	LabelPrefix = "io.dockerlet."

	// LabelManaged ("true") marks a container as dockerlet's. It must be
	// present for dockerlet to list, inspect, stop or remove a container:
	// a name that merely looks like k8s_… is not enough.
	LabelManaged = LabelPrefix + "managed"
	// LabelType is TypeSandbox (the pause container) or TypeContainer.
	LabelType = LabelPrefix + "type"
	// LabelSandboxID is a container's sandbox (its pause container's id).
	// Containers only.
	LabelSandboxID = LabelPrefix + "sandbox-id"
	// LabelRootDir is the absolute state directory of the server that
	// made the container (serve's --root-directory, play's state): several
	// servers may share one engine, and each sees only its own.
	LabelRootDir = LabelPrefix + "root-dir"
	// LabelCreated is the CRI creation time, in Unix nanoseconds (Docker's
	// own has one-second precision in listings).
	LabelCreated = LabelPrefix + "created"

	// The CRI metadata: the pod's name, namespace and uid, the
	// container's name, and the attempt (decimal).
	LabelPodName       = LabelPrefix + "pod.name"
	LabelPodNamespace  = LabelPrefix + "pod.namespace"
	LabelPodUID        = LabelPrefix + "pod.uid"
	LabelContainerName = LabelPrefix + "container.name"
	LabelAttempt       = LabelPrefix + "attempt"

	// LabelImage is the image as the CRI request named it (Docker records
	// the resolved id). Containers only.
	LabelImage = LabelPrefix + "image"
	// LabelUserImage is the image as the pod named it, when the kubelet
	// created the container from the image's id and sent the name as
	// UserSpecifiedImage: what the container's status reports. Containers
	// only.
	LabelUserImage = LabelPrefix + "image.user-specified"
	// LabelLogPath is a container's CRI log file, absolute; LabelLogDir its
	// pod's log directory, which the log copier never leaves. Containers
	// only.
	LabelLogPath = LabelPrefix + "log-path"
	LabelLogDir  = LabelPrefix + "log-directory"
	// LabelRuntimeHandler is the sandbox's CRI runtime handler ("" for the
	// default). Sandboxes only.
	LabelRuntimeHandler = LabelPrefix + "runtime-handler"
	// The sandbox's namespace options as the CRI gave them (NamespaceMode
	// numbers, and the PID target's id), for PodSandboxStatus. Sandboxes
	// only.
	LabelNSNetwork = LabelPrefix + "ns.network"
	LabelNSPID     = LabelPrefix + "ns.pid"
	LabelNSIPC     = LabelPrefix + "ns.ipc"
	LabelNSTarget  = LabelPrefix + "ns.target"

	// The CRI's own labels and annotations of a sandbox or container, each
	// under its prefix, so that they round-trip exactly and never collide
	// with dockerlet's keys.
	LabelUserPrefix       = LabelPrefix + "label."
	LabelAnnotationPrefix = LabelPrefix + "annotation."
)

// Labels no Docker container carries: dockerlet shows them on the
// sandboxes and containers it adopted from cri-dockerd (internal/adopt),
// whose Docker labels are cri-dockerd's and cannot be changed. The adopt
// layer adds every label above to what such a container shows, from
// cri-dockerd's labels, its name and its checkpoint.
const (
	// LabelAdopted names the runtime that made the container
	// (AdoptedFromCRIDockerd). dockerlet never copies its own log into
	// such a container's log path (cri-dockerd's symlink to Docker's log)
	// and never rolls it back as a half-made sandbox of its own.
	LabelAdopted = LabelPrefix + "adopted-from"
	// LabelCNICacheDir is the CNI cache directory the sandbox's network
	// was set up with (cri-dockerd's --cni-cache-dir): its teardown
	// replays DEL from the config cached there. Sandboxes only.
	LabelCNICacheDir = LabelPrefix + "cni-cache-dir"
)

// AdoptedFromCRIDockerd is LabelAdopted's value for cri-dockerd's objects.
const AdoptedFromCRIDockerd = "cri-dockerd"

// cri-dockerd's own Docker labels (v0.3 and v0.4), read to adopt what it
// left running. The kubelet's labels are stored as they are, its
// annotations under CRIDockerdAnnotationPrefix.
const (
	CRIDockerdLabelType          = "io.kubernetes.docker.type"
	CRIDockerdTypeSandbox        = "podsandbox"
	CRIDockerdTypeContainer      = "container"
	CRIDockerdLabelSandboxID     = "io.kubernetes.sandbox.id"
	CRIDockerdLabelLogPath       = "io.kubernetes.container.logpath"
	CRIDockerdAnnotationPrefix   = "annotation."
	CRIDockerdLabelContainerName = "io.kubernetes.container.name"
)

// LabelType's values.
const (
	TypeSandbox   = "sandbox"
	TypeContainer = "container"
)

// ManagedLabelFilter selects dockerlet's containers in a Docker listing.
const ManagedLabelFilter = LabelManaged + "=true"

// LabelLocalImage ("true") marks an image dockerlet built itself
// (dockerlet.local/busybox, dockerlet.local/pause: play's images that
// need no registry).
const LabelLocalImage = LabelPrefix + "local-image"

// CRI labels and annotations `dockerlet play` puts on the sandboxes and
// containers it asks for (stored under LabelUserPrefix and
// LabelAnnotationPrefix like any CRI client's), so that what a manifest
// made is found again from the CRI alone.
const (
	// PlayLabel ("true") marks a sandbox play created.
	PlayLabel = "dockerlet.io/play"
	// PlayLabelSource is the SourceID of the manifest that created it.
	PlayLabelSource = "dockerlet.io/play-source"
	// The kubelet's own labels, which play sets as the kubelet does: the
	// pod's name, namespace and uid, and the container's name.
	KubeletLabelPodName       = "io.kubernetes.pod.name"
	KubeletLabelPodNamespace  = "io.kubernetes.pod.namespace"
	KubeletLabelPodUID        = "io.kubernetes.pod.uid"
	KubeletLabelContainerName = "io.kubernetes.container.name"
	// PlayAnnotationOwner is set on a pod play derives from a workload
	// ("Deployment/web"): its owner, as kubectl shows "Controlled By".
	PlayAnnotationOwner = "dockerlet.io/owner"
	// PlayAnnotationStartAfter names the pod (same namespace) that must be
	// Running and Ready before this one is made: a StatefulSet's previous
	// ordinal under podManagementPolicy OrderedReady.
	PlayAnnotationStartAfter = "dockerlet.io/start-after"
)
