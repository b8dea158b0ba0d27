package pod

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// decodeDocument decodes one YAML document strictly (unknown or duplicate
// fields are errors, as with kubectl's strict validation) and records a
// warning for every known field dockerlet does not honour.
func (m *Manifest) decodeDocument(doc string, data []byte) error {
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(jsonData, &tm); err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	if tm.Kind == "" {
		return fmt.Errorf("%s: no kind", doc)
	}
	if tm.Kind == "List" {
		return m.decodeList(doc, jsonData)
	}
	var generic any
	if err := json.Unmarshal(jsonData, &generic); err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	obj, _ := generic.(map[string]any)
	if obj == nil {
		return fmt.Errorf("%s: not an object", doc)
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	label := tm.Kind + " " + name
	if !playable(tm.Kind) {
		// As podman does: what play cannot run is named once, and the rest
		// of the file runs.
		m.Warnings = append(m.Warnings, Warning{Doc: doc, Object: label, Path: "kind",
			Reason: fmt.Sprintf("kind %q is not run by dockerlet play: skipped", tm.Kind)})
		return nil
	}
	allow, err := allowListFor(tm.APIVersion, tm.Kind)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", doc, label, err)
	}
	for _, w := range append(walkAllowed(allow, obj), emptyDirWarnings(tm.Kind, obj)...) {
		w.Doc, w.Object = doc, label
		m.Warnings = append(m.Warnings, w)
	}
	switch tm.Kind {
	case "Pod":
		var p corev1.Pod
		if err := strict(jsonData, &p); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addPod(doc, &p)
	case "Secret":
		var s corev1.Secret
		if err := strict(jsonData, &s); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addSecret(doc, &s)
	case "ConfigMap":
		var c corev1.ConfigMap
		if err := strict(jsonData, &c); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		if err := checkMeta(&c.ObjectMeta); err != nil {
			return fmt.Errorf("%s: ConfigMap: %w", doc, err)
		}
		if err := validateDataKeys(append(slices.Collect(maps.Keys(c.Data)), slices.Collect(maps.Keys(c.BinaryData))...)); err != nil {
			return fmt.Errorf("%s: ConfigMap %s: %w", doc, c.Name, err)
		}
		m.ConfigMaps[key(c.Namespace, c.Name)] = &c
		return nil
	case "Service":
		var svc corev1.Service
		if err := strict(jsonData, &svc); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addService(doc, &svc)
	case "PersistentVolumeClaim":
		var c corev1.PersistentVolumeClaim
		if err := strict(jsonData, &c); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addClaim(doc, c.ObjectMeta)
	case "Deployment":
		var d appsv1.Deployment
		if err := strict(jsonData, &d); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addDeployment(doc, &d)
	case "ReplicaSet":
		var rs appsv1.ReplicaSet
		if err := strict(jsonData, &rs); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addWorkload(doc, "ReplicaSet", rs.ObjectMeta, replicas(rs.Spec.Replicas), &rs.Spec.Template, corev1.RestartPolicyAlways)
	case "Job":
		var j batchv1.Job
		if err := strict(jsonData, &j); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		return m.addJob(doc, &j)
	case "DaemonSet":
		var ds appsv1.DaemonSet
		if err := strict(jsonData, &ds); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		// One host, one node: one pod.
		return m.addWorkload(doc, "DaemonSet", ds.ObjectMeta, 1, &ds.Spec.Template, corev1.RestartPolicyAlways)
	case "StatefulSet":
		var ss appsv1.StatefulSet
		if err := strict(jsonData, &ss); err != nil {
			return fmt.Errorf("%s: %s: %w", doc, label, err)
		}
		// The template's mounts of a claim template are validated with
		// the volume; each pod's gets its own claim below.
		for _, t := range ss.Spec.VolumeClaimTemplates {
			if !slices.ContainsFunc(ss.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == t.Name }) {
				ss.Spec.Template.Spec.Volumes = append(ss.Spec.Template.Spec.Volumes, corev1.Volume{Name: t.Name,
					VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: t.Name}}})
			}
		}
		if err := m.addWorkload(doc, "StatefulSet", ss.ObjectMeta, replicas(ss.Spec.Replicas), &ss.Spec.Template, corev1.RestartPolicyAlways); err != nil {
			return err
		}
		m.setStatefulHostnames(&ss)
		if err := m.setStartOrder(doc, &ss); err != nil {
			return err
		}
		switch ss.Spec.UpdateStrategy.Type {
		case "", appsv1.RollingUpdateStatefulSetStrategyType:
		case appsv1.OnDeleteStatefulSetStrategyType:
			m.Warnings = append(m.Warnings, Warning{Doc: doc, Object: label, Path: "spec.updateStrategy.type",
				Reason: "OnDelete: nothing deletes the pods by hand here; a changed template is rolled out as RollingUpdate does"})
		default:
			return fmt.Errorf("%s: StatefulSet %s: spec.updateStrategy.type %q: want RollingUpdate or OnDelete", doc, ss.Name, ss.Spec.UpdateStrategy.Type)
		}
		return m.addClaimTemplates(doc, &ss)
	}
	return fmt.Errorf("%s: kind %q: no decoder", doc, tm.Kind)
}

// playable reports whether play runs (or uses) objects of kind.
func playable(kind string) bool {
	switch kind {
	case "Pod", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "ReplicaSet", "Job", "DaemonSet", "StatefulSet":
		return true
	}
	return false
}

func (m *Manifest) decodeList(doc string, data []byte) error {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return fmt.Errorf("%s: List: %w", doc, err)
	}
	for i, it := range l.Items {
		if err := m.decodeDocument(fmt.Sprintf("%s.items[%d]", doc, i), it); err != nil {
			return err
		}
	}
	return nil
}

// strict decodes JSON into a typed object, failing on unknown and
// duplicate fields with their paths.
func strict(data []byte, into any) error {
	strictErrs, err := kjson.UnmarshalStrict(data, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("strict decoding: %w", errors.Join(strictErrs...))
	}
	return nil
}

func replicas(n *int32) int {
	if n == nil {
		return 1
	}
	return int(*n)
}

func checkMeta(om *metav1.ObjectMeta) error {
	if om.Name == "" {
		return fmt.Errorf("metadata.name is required")
	}
	if om.Namespace == "" {
		om.Namespace = DefaultNamespace
	}
	if msgs := validateDNSLabel(om.Namespace); msgs != "" {
		return fmt.Errorf("metadata.namespace %q: %s", om.Namespace, msgs)
	}
	return nil
}

func (m *Manifest) addPod(doc string, p *corev1.Pod) error {
	if err := checkMeta(&p.ObjectMeta); err != nil {
		return fmt.Errorf("%s: Pod: %w", doc, err)
	}
	if msgs := validateDNSSubdomain(p.Name); msgs != "" {
		return fmt.Errorf("%s: Pod %q: metadata.name: %s", doc, p.Name, msgs)
	}
	if err := validatePodSpec(&p.Spec); err != nil {
		return fmt.Errorf("%s: Pod %s: %w", doc, p.Name, err)
	}
	p.Kind, p.APIVersion = "Pod", "v1"
	m.Pods = append(m.Pods, p)
	return nil
}

func (m *Manifest) addSecret(doc string, s *corev1.Secret) error {
	if err := checkMeta(&s.ObjectMeta); err != nil {
		return fmt.Errorf("%s: Secret: %w", doc, err)
	}
	switch s.Type {
	case "", corev1.SecretTypeOpaque, corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg:
	default:
		m.Warnings = append(m.Warnings, Warning{Doc: doc, Object: "Secret " + s.Name, Path: "type",
			Reason: fmt.Sprintf("type %q is treated as Opaque", s.Type)})
	}
	// stringData is write-only in the API: merge it into data as the API
	// server would.
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
	}
	if err := validateDataKeys(slices.Collect(maps.Keys(s.Data))); err != nil {
		return fmt.Errorf("%s: Secret %s: %w", doc, s.Name, err)
	}
	m.Secrets[key(s.Namespace, s.Name)] = s
	return nil
}

// addWorkload reduces a workload to its pods: <name>-<i> for each replica
// (parallelism for a Job, one for a DaemonSet; a StatefulSet's ordinals).
func (m *Manifest) addWorkload(doc, kind string, om metav1.ObjectMeta, n int, tmpl *corev1.PodTemplateSpec, wantRestart corev1.RestartPolicy) error {
	if err := checkMeta(&om); err != nil {
		return fmt.Errorf("%s: %s: %w", doc, kind, err)
	}
	if n < 0 {
		return fmt.Errorf("%s: %s %s: negative replicas", doc, kind, om.Name)
	}
	rp := tmpl.Spec.RestartPolicy
	switch {
	case kind == "Job" && rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure:
		return fmt.Errorf("%s: Job %s: spec.template.spec.restartPolicy must be Never or OnFailure", doc, om.Name)
	case wantRestart != "" && rp != "" && rp != wantRestart:
		return fmt.Errorf("%s: %s %s: spec.template.spec.restartPolicy must be %s", doc, kind, om.Name, wantRestart)
	}
	for i := 0; i < n; i++ {
		p := &corev1.Pod{}
		tmpl.ObjectMeta.DeepCopyInto(&p.ObjectMeta)
		tmpl.Spec.DeepCopyInto(&p.Spec)
		p.Name = fmt.Sprintf("%s-%d", om.Name, i)
		p.Namespace = om.Namespace
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[naming.PlayAnnotationOwner] = kind + "/" + om.Name
		if err := m.addPod(doc, p); err != nil {
			return err
		}
	}
	return nil
}

// addService records a Service: its name resolves, in every pod, to the
// ready pods its selector picks (hosts.go).
func (m *Manifest) addService(doc string, svc *corev1.Service) error {
	if err := checkMeta(&svc.ObjectMeta); err != nil {
		return fmt.Errorf("%s: Service: %w", doc, err)
	}
	if msg := validateDNSLabel(svc.Name); msg != "" {
		return fmt.Errorf("%s: Service %q: metadata.name: %s", doc, svc.Name, msg)
	}
	switch svc.Spec.ClusterIP {
	case "", corev1.ClusterIPNone:
	default:
		m.Warnings = append(m.Warnings, Warning{Doc: doc, Object: "Service " + svc.Name, Path: "spec.clusterIP",
			Reason: "the name resolves to the pods' own addresses; no cluster IP is allocated"})
	}
	switch t := svc.Spec.Type; t {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	case corev1.ServiceTypeExternalName:
		m.Warnings = append(m.Warnings, Warning{Doc: doc, Object: "Service " + svc.Name, Path: "spec.type",
			Reason: "type ExternalName is not honoured: the name resolves to the pods the selector picks"})
	default:
		return fmt.Errorf("%s: Service %s: spec.type %q: want ClusterIP, NodePort or LoadBalancer", doc, svc.Name, t)
	}
	published := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	for i, p := range svc.Spec.Ports {
		switch {
		case p.NodePort == 0:
		case !published:
			return fmt.Errorf("%s: Service %s: spec.ports[%d].nodePort: may not be used when type is %q", doc, svc.Name, i, cmp.Or(svc.Spec.Type, corev1.ServiceTypeClusterIP))
		case p.NodePort < NodePortMin || p.NodePort > NodePortMax:
			return fmt.Errorf("%s: Service %s: spec.ports[%d].nodePort %d: outside the node port range %d-%d", doc, svc.Name, i, p.NodePort, NodePortMin, NodePortMax)
		}
		if p.Port < 1 || p.Port > 65535 {
			return fmt.Errorf("%s: Service %s: spec.ports[%d].port %d: want 1-65535", doc, svc.Name, i, p.Port)
		}
		if n := p.TargetPort.IntValue(); p.TargetPort.StrVal == "" && (n < 0 || n > 65535) {
			return fmt.Errorf("%s: Service %s: spec.ports[%d].targetPort %d: want 1-65535", doc, svc.Name, i, n)
		}
	}
	svc.Kind, svc.APIVersion = "Service", "v1"
	m.Services[key(svc.Namespace, svc.Name)] = svc
	return nil
}

// addClaim records a PersistentVolumeClaim: a directory that outlives
// down (see ClaimsDir).
func (m *Manifest) addClaim(doc string, om metav1.ObjectMeta) error {
	if err := checkMeta(&om); err != nil {
		return fmt.Errorf("%s: PersistentVolumeClaim: %w", doc, err)
	}
	if msg := validateDNSSubdomain(om.Name); msg != "" {
		return fmt.Errorf("%s: PersistentVolumeClaim %q: metadata.name: %s", doc, om.Name, msg)
	}
	m.Claims[key(om.Namespace, om.Name)] = true
	return nil
}

// setStatefulHostnames gives a StatefulSet's pods their own name as
// hostname and the governing Service as subdomain, as the StatefulSet
// controller does: web-0.web resolves.
func (m *Manifest) setStatefulHostnames(ss *appsv1.StatefulSet) {
	for _, p := range m.Pods {
		if p.Annotations[naming.PlayAnnotationOwner] == "StatefulSet/"+ss.Name && (ss.Namespace == "" || p.Namespace == ss.Namespace) {
			p.Spec.Hostname, p.Spec.Subdomain = p.Name, ss.Spec.ServiceName
		}
	}
}

// setStartOrder makes each ordinal of an OrderedReady StatefulSet (the
// default) wait for the previous one to be Running and Ready before it is
// made, as the StatefulSet controller creates them.
func (m *Manifest) setStartOrder(doc string, ss *appsv1.StatefulSet) error {
	switch ss.Spec.PodManagementPolicy {
	case appsv1.ParallelPodManagement:
		return nil
	case "", appsv1.OrderedReadyPodManagement:
	default:
		return fmt.Errorf("%s: StatefulSet %s: spec.podManagementPolicy %q: want OrderedReady or Parallel", doc, ss.Name, ss.Spec.PodManagementPolicy)
	}
	for _, p := range m.Pods {
		if p.Annotations[naming.PlayAnnotationOwner] != "StatefulSet/"+ss.Name || p.Namespace != ss.Namespace && ss.Namespace != "" {
			continue
		}
		ordinal, err := strconv.Atoi(strings.TrimPrefix(p.Name, ss.Name+"-"))
		if err == nil && ordinal > 0 {
			p.Annotations[naming.PlayAnnotationStartAfter] = fmt.Sprintf("%s-%d", ss.Name, ordinal-1)
		}
	}
	return nil
}

// addClaimTemplates gives each of a StatefulSet's pods its own claim per
// volumeClaimTemplate, named <template>-<set>-<ordinal> as the StatefulSet
// controller names them.
func (m *Manifest) addClaimTemplates(doc string, ss *appsv1.StatefulSet) error {
	ns := ss.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	for _, p := range m.Pods {
		if p.Namespace != ns || p.Annotations[naming.PlayAnnotationOwner] != "StatefulSet/"+ss.Name {
			continue
		}
		ordinal := strings.TrimPrefix(p.Name, ss.Name+"-")
		for _, t := range ss.Spec.VolumeClaimTemplates {
			claim := fmt.Sprintf("%s-%s-%s", t.Name, ss.Name, ordinal)
			if err := m.addClaim(doc, metav1.ObjectMeta{Name: claim, Namespace: ns}); err != nil {
				return err
			}
			src := corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}
			replaced := false
			for i := range p.Spec.Volumes {
				if p.Spec.Volumes[i].Name == t.Name {
					p.Spec.Volumes[i].VolumeSource, replaced = src, true
				}
			}
			if !replaced {
				p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: t.Name, VolumeSource: src})
			}
		}
	}
	return nil
}
