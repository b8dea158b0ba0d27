package pod

import corev1 "k8s.io/api/core/v1"

type corev1Secret = corev1.Secret

func corev1Container(image, policy string) *corev1.Container {
	return &corev1.Container{Name: "c", Image: image, ImagePullPolicy: corev1.PullPolicy(policy)}
}
