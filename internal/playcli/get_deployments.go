package playcli

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/dockerlet/dockerlet/internal/cli"
	"github.com/dockerlet/dockerlet/internal/pod"
)

// isDeployments reports whether a get argument names Deployments.
func isDeployments(kind string) bool {
	switch kind {
	case "deployment", "deployments", "deploy", "deployment.apps", "deployments.apps":
		return true
	}
	return false
}

// apiDeployment is a recorded Deployment as the API server returns it,
// its status counted from its pods: replicas (every pod it has),
// updated (of the current template), ready and available (ready: no
// minReadySeconds).
func apiDeployment(store pod.Store, d *appsv1.Deployment) *appsv1.Deployment {
	out := d.DeepCopy()
	out.APIVersion, out.Kind = "apps/v1", "Deployment"
	st, err := store.LoadDeployment(string(d.UID))
	if err != nil || st == nil {
		return out
	}
	hash := pod.TemplateHash(&d.Spec.Template)
	for _, dp := range st.Pods {
		out.Status.Replicas++
		if dp.Hash == hash {
			out.Status.UpdatedReplicas++
		}
		if ps, ok := store.ReadStatus(string(dp.Pod.UID)); ok && ps.Ready {
			out.Status.ReadyReplicas++
			out.Status.AvailableReplicas++
		}
	}
	out.Status.UnavailableReplicas = max(0, replicasOf(d)-out.Status.AvailableReplicas)
	return out
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// getDeployments prints Deployments as kubectl get deployments does.
func getDeployments(out io.Writer, store pod.Store, ns, name, output string, allNS bool) error {
	records, err := store.ListApplied()
	if err != nil {
		return err
	}
	var ds []*appsv1.Deployment
	for _, a := range records {
		for _, d := range a.Deployments {
			if (ns == "" || d.Namespace == ns) && (name == "" || d.Name == name) {
				ds = append(ds, apiDeployment(store, d))
			}
		}
	}
	if name != "" && len(ds) == 0 {
		return fmt.Errorf("deployment %q not found", name)
	}
	switch output {
	case "json", "yaml":
		return printList(out, output, ds, name != "")
	case "name":
		for _, d := range ds {
			fmt.Fprintln(out, "deployment.apps/"+cli.SafeText(d.Name))
		}
		return nil
	}
	if len(ds) == 0 {
		fmt.Fprintln(os.Stderr, "No resources found.")
		return nil
	}
	tw := tabwriter.NewWriter(cli.SafeWriter(out), 0, 4, 3, ' ', 0)
	hdr := "NAME\tREADY\tUP-TO-DATE\tAVAILABLE\tAGE"
	if allNS {
		hdr = "NAMESPACE\t" + hdr
	}
	fmt.Fprintln(tw, hdr)
	now := time.Now()
	for _, d := range ds {
		row := fmt.Sprintf("%s\t%d/%d\t%d\t%d\t%s", d.Name, d.Status.ReadyReplicas, replicasOf(d), d.Status.UpdatedReplicas,
			d.Status.AvailableReplicas, age(d.CreationTimestamp.Time, now))
		if allNS {
			row = d.Namespace + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}
