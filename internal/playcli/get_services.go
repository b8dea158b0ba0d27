package playcli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// isServices reports whether a get argument names Services.
func isServices(kind string) bool {
	switch kind {
	case "service", "services", "svc":
		return true
	}
	return false
}

type serviceRef struct {
	svc       *corev1.Service
	applied   *pod.Applied
	endpoints int
}

// getServices prints Services as kubectl get services does, with the
// address their NodePort and LoadBalancer ports are published on as
// EXTERNAL-IP, and how many ready pods they select (ENDPOINTS).
func getServices(out io.Writer, store pod.Store, ns, name, output string, allNS bool) error {
	records, err := store.ListApplied()
	if err != nil {
		return err
	}
	pods, err := listPods(store, "")
	if err != nil {
		return err
	}
	var svcs []serviceRef
	for _, a := range records {
		for _, s := range a.Services {
			if (ns == "" || s.Namespace == ns) && (name == "" || s.Name == name) {
				svcs = append(svcs, serviceRef{svc: s, applied: a, endpoints: readyEndpoints(s, pods)})
			}
		}
	}
	if name != "" && len(svcs) == 0 {
		return fmt.Errorf("service %q not found", name)
	}
	switch output {
	case "json", "yaml":
		items := make([]*corev1.Service, 0, len(svcs))
		for _, r := range svcs {
			items = append(items, r.svc)
		}
		return printList(out, output, items, name != "")
	case "name":
		for _, r := range svcs {
			fmt.Fprintln(out, "service/"+cli.SafeText(r.svc.Name))
		}
		return nil
	}
	if len(svcs) == 0 {
		fmt.Fprintln(os.Stderr, "No resources found.")
		return nil
	}
	tw := tabwriter.NewWriter(cli.SafeWriter(out), 0, 4, 3, ' ', 0)
	hdr := "NAME\tTYPE\tEXTERNAL-IP\tPORT(S)\tENDPOINTS\tAGE"
	if allNS {
		hdr = "NAMESPACE\t" + hdr
	}
	fmt.Fprintln(tw, hdr)
	now := time.Now()
	for _, r := range svcs {
		s := r.svc
		typ := cmp.Or(s.Spec.Type, corev1.ServiceTypeClusterIP)
		ext := "<none>"
		if typ == corev1.ServiceTypeLoadBalancer {
			ext = cmp.Or(r.applied.PublishAddress, pod.DefaultPublishAddress)
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s", s.Name, typ, ext, servicePorts(s), r.endpoints, age(r.applied.AppliedAt, now))
		if allNS {
			row = s.Namespace + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// servicePorts is kubectl's PORT(S): 80/TCP, or 80:30080/TCP with a node
// port.
func servicePorts(s *corev1.Service) string {
	if len(s.Spec.Ports) == 0 {
		return "<none>"
	}
	var out []string
	for _, p := range s.Spec.Ports {
		port := strconv.Itoa(int(p.Port))
		if p.NodePort != 0 {
			port += ":" + strconv.Itoa(int(p.NodePort))
		}
		out = append(out, port+"/"+string(cmp.Or(p.Protocol, corev1.ProtocolTCP)))
	}
	return strings.Join(out, ",")
}

// readyEndpoints counts the ready pods s selects.
func readyEndpoints(s *corev1.Service, pods []podRef) int {
	if len(s.Spec.Selector) == 0 {
		return 0
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	n := 0
	for _, r := range pods {
		if r.pod.Namespace == s.Namespace && r.status.Ready && sel.Matches(labels.Set(r.pod.Labels)) {
			n++
		}
	}
	return n
}
