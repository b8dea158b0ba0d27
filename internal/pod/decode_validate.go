package pod

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// validatePodSpec makes the API server's checks of a pod spec that play
// relies on: at least one container, unique DNS-label names, an image,
// defined restart and pull policies, valid volumes and no mount of a
// volume that is not there.
func validatePodSpec(s *corev1.PodSpec) error {
	if len(s.Containers) == 0 {
		return fmt.Errorf("spec.containers: at least one container is required")
	}
	switch s.RestartPolicy {
	case "", corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		return fmt.Errorf("spec.restartPolicy %q: want Always, OnFailure or Never", s.RestartPolicy)
	}
	names := map[string]bool{}
	check := func(field string, cs []corev1.Container) error {
		for i, c := range cs {
			p := fmt.Sprintf("spec.%s[%d]", field, i)
			if c.Name == "" {
				return fmt.Errorf("%s.name is required", p)
			}
			if msgs := validateDNSLabel(c.Name); msgs != "" {
				return fmt.Errorf("%s.name %q: %s", p, c.Name, msgs)
			}
			if names[c.Name] {
				return fmt.Errorf("%s.name %q: duplicate container name", p, c.Name)
			}
			names[c.Name] = true
			if c.Image == "" {
				return fmt.Errorf("%s.image is required", p)
			}
			switch c.ImagePullPolicy {
			case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
			default:
				return fmt.Errorf("%s.imagePullPolicy %q: want Always, IfNotPresent or Never", p, c.ImagePullPolicy)
			}
		}
		return nil
	}
	if err := check("initContainers", s.InitContainers); err != nil {
		return err
	}
	if err := check("containers", s.Containers); err != nil {
		return err
	}
	if err := validateVolumes(s.Volumes); err != nil {
		return err
	}
	vols := map[string]bool{}
	for _, v := range s.Volumes {
		vols[v.Name] = true
	}
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for _, c := range cs {
			for j, vm := range c.VolumeMounts {
				if !vols[vm.Name] {
					return fmt.Errorf("container %s: volumeMounts[%d]: no volume named %q", c.Name, j, vm.Name)
				}
			}
		}
	}
	return nil
}

// validateDNSLabel returns "" for an RFC 1123 label.
func validateDNSLabel(s string) string {
	if len(s) == 0 || len(s) > 63 {
		return "must be 1-63 characters"
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(s)-1
		if !ok {
			return "must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character"
		}
	}
	return ""
}

// validateDNSSubdomain returns "" for an RFC 1123 subdomain.
func validateDNSSubdomain(s string) string {
	if len(s) > 253 {
		return "must be at most 253 characters"
	}
	for _, part := range strings.Split(s, ".") {
		if msg := validateDNSLabel(part); msg != "" {
			return msg
		}
	}
	return ""
}
