package pod

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

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
	if err := validatePodSpec(&j.Spec.Template.Spec); err != nil {
		return fmt.Errorf("%s: Job %s: spec.template: %w", doc, j.Name, err)
	}
	j.Kind, j.APIVersion = "Job", "batch/v1"
	m.Jobs = append(m.Jobs, j)
	return nil
}
