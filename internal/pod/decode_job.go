package pod

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// addDeployment records a Deployment: the supervisor's Deployment
// controller makes its pods and rolls a changed template out
// (deploy_controller.go).
func (m *Manifest) addDeployment(doc string, d *appsv1.Deployment) error {
	if err := checkMeta(&d.ObjectMeta); err != nil {
		return fmt.Errorf("%s: Deployment: %w", doc, err)
	}
	if msg := validateDNSSubdomain(d.Name); msg != "" {
		return fmt.Errorf("%s: Deployment %q: metadata.name: %s", doc, d.Name, msg)
	}
	fail := func(field, msg string) error {
		return fmt.Errorf("%s: Deployment %s: spec.%s: %s", doc, d.Name, field, msg)
	}
	if r := d.Spec.Replicas; r != nil && *r < 0 {
		return fail("replicas", "must be greater than or equal to 0")
	}
	if rp := d.Spec.Template.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		return fail("template.spec.restartPolicy", fmt.Sprintf("%q: must be Always", rp))
	}
	switch st := d.Spec.Strategy; st.Type {
	case "", appsv1.RollingUpdateDeploymentStrategyType:
		if _, _, err := rollingParams(d, max(replicas(d.Spec.Replicas), 1)); err != nil {
			return fail("strategy.rollingUpdate", err.Error())
		}
		if ru := st.RollingUpdate; ru != nil && ru.MaxSurge != nil && ru.MaxUnavailable != nil &&
			ru.MaxSurge.IntValue() == 0 && ru.MaxSurge.StrVal == "" && ru.MaxUnavailable.IntValue() == 0 && ru.MaxUnavailable.StrVal == "" {
			return fail("strategy.rollingUpdate", "maxSurge and maxUnavailable may not both be 0")
		}
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			return fail("strategy.rollingUpdate", "may not be specified when strategy type is 'Recreate'")
		}
	default:
		return fail("strategy.type", fmt.Sprintf("%q: want RollingUpdate or Recreate", st.Type))
	}
	if err := validatePodSpec(&d.Spec.Template.Spec); err != nil {
		return fmt.Errorf("%s: Deployment %s: spec.template: %w", doc, d.Name, err)
	}
	d.Kind, d.APIVersion = "Deployment", "apps/v1"
	m.Deployments = append(m.Deployments, d)
	return nil
}

// addJob records a Job: the supervisor's Job controller makes its pods
// (job_controller.go), so it is checked here as the API server checks one.
func (m *Manifest) addJob(doc string, j *batchv1.Job) error {
	if err := checkMeta(&j.ObjectMeta); err != nil {
		return fmt.Errorf("%s: Job: %w", doc, err)
	}
	// The name is the value of the pods' job-name label: a DNS label.
	if msg := validateDNSLabel(j.Name); msg != "" {
		return fmt.Errorf("%s: Job %q: metadata.name: %s", doc, j.Name, msg)
	}
	fail := func(field, msg string) error {
		return fmt.Errorf("%s: Job %s: spec.%s: %s", doc, j.Name, field, msg)
	}
	switch rp := j.Spec.Template.Spec.RestartPolicy; rp {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	default:
		return fail("template.spec.restartPolicy", fmt.Sprintf("%q: must be Never or OnFailure", rp))
	}
	for field, v := range map[string]*int32{"parallelism": j.Spec.Parallelism, "completions": j.Spec.Completions,
		"backoffLimit": j.Spec.BackoffLimit, "ttlSecondsAfterFinished": j.Spec.TTLSecondsAfterFinished} {
		if v != nil && *v < 0 {
			return fail(field, "must be greater than or equal to 0")
		}
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil && *d <= 0 {
		return fail("activeDeadlineSeconds", "must be greater than 0")
	}
	if cm := j.Spec.CompletionMode; cm != nil {
		switch *cm {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if j.Spec.Completions == nil {
				return fail("completions", "when completion mode is Indexed, completions must be set")
			}
		default:
			return fail("completionMode", fmt.Sprintf("%q: want NonIndexed or Indexed", *cm))
		}
	}
	if err := validatePodSpec(&j.Spec.Template.Spec); err != nil {
		return fmt.Errorf("%s: Job %s: spec.template: %w", doc, j.Name, err)
	}
	j.Kind, j.APIVersion = "Job", "batch/v1"
	m.Jobs = append(m.Jobs, j)
	return nil
}
