package pod

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// The fields dockerlet honours. Everything else that decodes is reported as
// a warning with its path; keep this list in step with translate*.go.

var metaFields = []string{
	"apiVersion", "kind",
	"metadata.name", "metadata.namespace", "metadata.labels.*", "metadata.annotations.*",
}

var handlerFields = []string{
	"exec.command",
	"httpGet.path", "httpGet.port", "httpGet.host", "httpGet.scheme",
	"httpGet.httpHeaders.name", "httpGet.httpHeaders.value",
	"tcpSocket.port", "tcpSocket.host",
}

var probeFields = concat([]string{
	"grpc.port", "grpc.service",
	"initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold",
}, handlerFields)

var containerFields = concat(
	[]string{
		"name", "image", "command", "args", "workingDir", "imagePullPolicy", "tty", "stdin", "stdinOnce",
		"env.name", "env.value",
		"env.valueFrom.configMapKeyRef.name", "env.valueFrom.configMapKeyRef.key", "env.valueFrom.configMapKeyRef.optional",
		"env.valueFrom.secretKeyRef.name", "env.valueFrom.secretKeyRef.key", "env.valueFrom.secretKeyRef.optional",
		"env.valueFrom.fieldRef.fieldPath", "env.valueFrom.fieldRef.apiVersion",
		"envFrom.prefix", "envFrom.configMapRef.name", "envFrom.configMapRef.optional",
		"envFrom.secretRef.name", "envFrom.secretRef.optional",
		"ports.name", "ports.containerPort", "ports.hostPort", "ports.hostIP", "ports.protocol",
		"resources.limits.cpu", "resources.limits.memory", "resources.requests.cpu", "resources.requests.memory",
		"volumeMounts.name", "volumeMounts.mountPath", "volumeMounts.readOnly", "volumeMounts.subPath",
		"securityContext.runAsUser", "securityContext.runAsGroup", "securityContext.runAsNonRoot",
		"securityContext.readOnlyRootFilesystem", "securityContext.privileged",
		"securityContext.allowPrivilegeEscalation",
		"securityContext.capabilities.add", "securityContext.capabilities.drop",
		// Defaults the API server fills in: harmless when present.
		"terminationMessagePath", "terminationMessagePolicy",
	},
	prefixed("livenessProbe", probeFields),
	prefixed("readinessProbe", probeFields),
	prefixed("startupProbe", probeFields),
	prefixed("lifecycle.postStart", concat(handlerFields, []string{"sleep.seconds"})),
	prefixed("lifecycle.preStop", concat(handlerFields, []string{"sleep.seconds"})),
)

var podSpecFields = concat(
	[]string{
		"restartPolicy", "terminationGracePeriodSeconds", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
		"hostname", "subdomain", "imagePullSecrets.name",
		"dnsConfig.nameservers", "dnsConfig.searches", "dnsConfig.options.name", "dnsConfig.options.value",
		"securityContext.runAsUser", "securityContext.runAsGroup", "securityContext.runAsNonRoot",
		"securityContext.supplementalGroups", "securityContext.fsGroup", "securityContext.sysctls.name", "securityContext.sysctls.value",
		"volumes.name",
		"volumes.emptyDir",
		"volumes.hostPath.path", "volumes.hostPath.type",
		"volumes.configMap.name", "volumes.configMap.items.key", "volumes.configMap.items.path",
		"volumes.configMap.items.mode", "volumes.configMap.defaultMode", "volumes.configMap.optional",
		"volumes.secret.secretName", "volumes.secret.items.key", "volumes.secret.items.path",
		"volumes.secret.items.mode", "volumes.secret.defaultMode", "volumes.secret.optional",
		"volumes.persistentVolumeClaim.claimName", "volumes.persistentVolumeClaim.readOnly",
		"volumes.downwardAPI.defaultMode", "volumes.projected.defaultMode",
		"volumes.projected.sources.configMap.name", "volumes.projected.sources.configMap.optional",
		"volumes.projected.sources.configMap.items.key", "volumes.projected.sources.configMap.items.path", "volumes.projected.sources.configMap.items.mode",
		"volumes.projected.sources.secret.name", "volumes.projected.sources.secret.optional",
		"volumes.projected.sources.secret.items.key", "volumes.projected.sources.secret.items.path", "volumes.projected.sources.secret.items.mode",
		// Defaults the API server fills in: harmless when present.
		"dnsPolicy", "schedulerName",
	},
	prefixed("volumes.downwardAPI.items", downwardFields),
	prefixed("volumes.projected.sources.downwardAPI.items", downwardFields),
	prefixed("containers", containerFields),
	prefixed("initContainers", append([]string{"restartPolicy"}, containerFields...)),
)

var downwardFields = []string{"path", "mode", "fieldRef.fieldPath", "fieldRef.apiVersion"}

var podFields = concat(metaFields, prefixed("spec", podSpecFields))

var templateFields = concat(
	[]string{"metadata.labels.*", "metadata.annotations.*"},
	prefixed("spec", podSpecFields),
)

func allowListFor(apiVersion, kind string) (*fieldNode, error) {
	want := map[string]string{
		"Pod": "v1", "Secret": "v1", "ConfigMap": "v1",
		"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1",
		"DaemonSet": "apps/v1", "StatefulSet": "apps/v1", "PersistentVolumeClaim": "v1", "Service": "v1",
	}
	if v, ok := want[kind]; ok && apiVersion != v {
		return nil, fmt.Errorf("apiVersion %q: want %q", apiVersion, v)
	}
	switch kind {
	case "Pod":
		return emptyDirNode(newAllowList(podFields...), "spec"), nil
	case "Secret":
		return newAllowList(concat(metaFields, []string{"type", "data.*", "stringData.*", "immutable"})...), nil
	case "ConfigMap":
		return newAllowList(concat(metaFields, []string{"data.*", "binaryData.*", "immutable"})...), nil
	case "DaemonSet":
		return emptyDirNode(newAllowList(concat(metaFields,
			[]string{"spec.selector"}, prefixed("spec.template", templateFields))...), "spec.template.spec"), nil
	case "StatefulSet":
		return emptyDirNode(newAllowList(concat(metaFields,
			[]string{"spec.replicas", "spec.selector", "spec.serviceName", "spec.podManagementPolicy", "spec.updateStrategy.type",
				"spec.volumeClaimTemplates.metadata.name", "spec.volumeClaimTemplates.spec.accessModes"},
			prefixed("spec.template", templateFields))...), "spec.template.spec"), nil
	case "Service":
		return newAllowList(concat(metaFields, []string{"spec.selector.*", "spec.clusterIP", "spec.type",
			"spec.ports.name", "spec.ports.port", "spec.ports.targetPort", "spec.ports.protocol", "spec.ports.nodePort"})...), nil
	case "PersistentVolumeClaim":
		// A directory on this host: any access mode holds; the size is not
		// enforced (warned).
		return newAllowList(concat(metaFields, []string{"spec.accessModes"})...), nil
	case "Deployment":
		return emptyDirNode(newAllowList(concat(metaFields,
			[]string{"spec.replicas", "spec.selector", "spec.strategy.type",
				"spec.strategy.rollingUpdate.maxSurge", "spec.strategy.rollingUpdate.maxUnavailable"},
			prefixed("spec.template", templateFields))...), "spec.template.spec"), nil
	case "ReplicaSet":
		return emptyDirNode(newAllowList(concat(metaFields,
			[]string{"spec.replicas", "spec.selector"}, prefixed("spec.template", templateFields))...), "spec.template.spec"), nil
	case "Job":
		return emptyDirNode(newAllowList(concat(metaFields,
			[]string{"spec.parallelism", "spec.completions", "spec.completionMode", "spec.backoffLimit", "spec.activeDeadlineSeconds",
				"spec.ttlSecondsAfterFinished", "spec.suspend", "spec.selector", "spec.manualSelector"}, prefixed("spec.template", templateFields))...), "spec.template.spec"), nil
	}
	return nil, fmt.Errorf("kind %q is not supported (Pod, Secret, ConfigMap, Deployment, ReplicaSet, Job, List)", kind)
}

// emptyDirNode makes volumes[].emptyDir honour "{}", medium and sizeLimit
// (a disk emptyDir's sizeLimit is warned apart: see emptyDirWarnings).
func emptyDirNode(root *fieldNode, specPath string) *fieldNode {
	n := root
	for _, p := range append(splitPath(specPath), "volumes", "emptyDir") {
		if n == nil || n.children == nil {
			return root
		}
		n = n.children[p]
	}
	if n != nil {
		n.children = map[string]*fieldNode{"medium": {}, "sizeLimit": {}}
	}
	return root
}

// emptyDirWarnings reports a sizeLimit on a disk emptyDir: only a
// Memory one (a tmpfs of that size) is bounded.
func emptyDirWarnings(kind string, obj map[string]any) []Warning {
	path := "spec.template.spec"
	if kind == "Pod" {
		path = "spec"
	}
	var spec any = obj
	for _, p := range splitPath(path) {
		m, _ := spec.(map[string]any)
		spec = m[p]
	}
	m, _ := spec.(map[string]any)
	vols, _ := m["volumes"].([]any)
	var ws []Warning
	for i, v := range vols {
		vm, _ := v.(map[string]any)
		ed, _ := vm["emptyDir"].(map[string]any)
		if ed["sizeLimit"] != nil && ed["medium"] != string(corev1.StorageMediumMemory) {
			ws = append(ws, Warning{Path: fmt.Sprintf("%s.volumes[%d].emptyDir.sizeLimit", path, i),
				Reason: "not enforced for an emptyDir on disk (medium: Memory makes a tmpfs of that size)"})
		}
	}
	return ws
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
