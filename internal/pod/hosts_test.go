package pod

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceHosts(t *testing.T) {
	var h ServiceHosts
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	db := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"}}}
	h.Update([]*corev1.Service{web, db}, []Endpoint{
		{Namespace: "app", Name: "web-0", IP: "10.0.0.1", Labels: map[string]string{"app": "web"}, Ready: true},
		{Namespace: "app", Name: "web-1", IP: "10.0.0.2", Labels: map[string]string{"app": "web"}, Ready: false},
		{Namespace: "other", Name: "web-x", IP: "10.0.0.9", Labels: map[string]string{"app": "web"}, Ready: true},
		{Namespace: "app", Name: "db-0", Hostname: "db-0", Subdomain: "db", IP: "10.0.0.3", Labels: map[string]string{"app": "db"}, Ready: true},
	})
	client := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "app"}}
	got := string(h.Hosts(client, "10.0.0.7"))
	for _, want := range []string{
		"127.0.0.1\tlocalhost\n",
		"10.0.0.7\tc\n",
		"10.0.0.1\tweb web.app web.app.svc web.app.svc.cluster.local\n",
		"10.0.0.3\tdb db.app db.app.svc db.app.svc.cluster.local\n",
		"10.0.0.3\tdb-0.db db-0.db.app db-0.db.app.svc db-0.db.app.svc.cluster.local\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "10.0.0.2") || strings.Contains(got, "10.0.0.9") {
		t.Errorf("an unready pod or another namespace's pod behind the Service:\n%s", got)
	}
	// From another namespace: no short name.
	other := string(h.Hosts(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "o", Namespace: "other"}}, "10.0.0.8"))
	if !strings.Contains(other, "10.0.0.1\tweb.app web.app.svc") || strings.Contains(other, "\tweb ") {
		t.Errorf("from another namespace:\n%s", other)
	}
	// A subdomain pod's own fully qualified name.
	self := string(h.Hosts(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0", Namespace: "app"}, Spec: corev1.PodSpec{Hostname: "db-0", Subdomain: "db"}}, "10.0.0.3"))
	if !strings.Contains(self, "10.0.0.3\tdb-0.db.app.svc.cluster.local\tdb-0\n") {
		t.Errorf("own name:\n%s", self)
	}
	// Two ready pods: both listed, the first differs between clients.
	h.Update([]*corev1.Service{web}, []Endpoint{
		{Namespace: "app", Name: "web-0", IP: "10.0.0.1", Labels: map[string]string{"app": "web"}, Ready: true},
		{Namespace: "app", Name: "web-1", IP: "10.0.0.2", Labels: map[string]string{"app": "web"}, Ready: true},
	})
	firsts := map[string]bool{}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		out := string(h.Hosts(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"}}, ""))
		if strings.Count(out, "\tweb web.app") != 2 {
			t.Fatalf("both ready pods not listed:\n%s", out)
		}
		firsts[out[strings.Index(out, "10.0.0."):][:8]] = true
	}
	if len(firsts) != 2 {
		t.Errorf("every client gets the same first address: %v", firsts)
	}
}
