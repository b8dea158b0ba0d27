package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"sigs.k8s.io/yaml"
)

const namespace = "default"

// kubeletHTTPClient talks to the kubelet's HTTPS server: a self-signed
// certificate on 127.0.0.1, anonymous requests allowed.
func kubeletHTTPClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback, self-signed
	}
}

func (n *Node) restConfig() *rest.Config {
	return &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(n.Port),
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
	}
}

// roGet reads the kubelet's read-only port.
func (n *Node) roGet(ctx context.Context, path string) ([]byte, error) {
	return do(ctx, http.DefaultClient, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(n.ReadOnlyPort)+path)
}

// get reads the kubelet's main (HTTPS) server.
func (n *Node) get(ctx context.Context, path string) ([]byte, error) {
	return do(ctx, n.http, http.MethodGet, "https://127.0.0.1:"+strconv.Itoa(n.Port)+path)
}

func (n *Node) post(ctx context.Context, path string) ([]byte, error) {
	return do(ctx, n.http, http.MethodPost, "https://127.0.0.1:"+strconv.Itoa(n.Port)+path)
}

func do(ctx context.Context, c *http.Client, method, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// fullName is the name the kubelet gives a static pod: manifest name + node.
func (n *Node) fullName(name string) string { return name + "-" + n.Name }

// pods lists the kubelet's pods with their status (read-only port /pods).
func (n *Node) pods(ctx context.Context) ([]v1.Pod, error) {
	b, err := n.roGet(ctx, "/pods")
	if err != nil {
		return nil, err
	}
	var list v1.PodList
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode /pods: %w", err)
	}
	return list.Items, nil
}

// waitPod polls /pods until cond accepts the pod (a nil error) and returns
// it; on timeout the test fails with cond's last reason and the pod.
func (n *Node) waitPod(t *testing.T, name string, timeout time.Duration, cond func(*v1.Pod) error) *v1.Pod {
	t.Helper()
	full := n.fullName(name)
	deadline := time.Now().Add(timeout)
	var last error
	var lastPod *v1.Pod
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pods, err := n.pods(ctx)
		cancel()
		last = err
		if err == nil {
			last = fmt.Errorf("pod %s not listed", full)
			for i := range pods {
				if pods[i].Name == full {
					lastPod = &pods[i]
					if last = cond(lastPod); last == nil {
						return lastPod
					}
				}
			}
		}
		if time.Now().After(deadline) {
			status, _ := json.MarshalIndent(lastPodStatus(lastPod), "", "  ")
			t.Fatalf("pod %s: not as expected after %v: %v\nstatus: %s\nkubelet log: %s", full, timeout, last, status, n.KubeletLog)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func lastPodStatus(p *v1.Pod) any {
	if p == nil {
		return nil
	}
	return p.Status
}

// waitGone polls /pods until the pod is no longer listed.
func (n *Node) waitGone(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	full := n.fullName(name)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pods, err := n.pods(ctx)
		cancel()
		found := err != nil
		for _, p := range pods {
			found = found || p.Name == full
		}
		if !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s still listed after %v (err %v)", full, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// addPod writes a static pod manifest (atomically: the kubelet ignores
// dot-files) and removes it at the end of the test.
func (n *Node) addPod(t *testing.T, p *v1.Pod) {
	t.Helper()
	p.APIVersion, p.Kind = "v1", "Pod"
	if p.Namespace == "" {
		p.Namespace = namespace
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(n.ManifestDir, p.Name+".yaml")
	tmp := filepath.Join(n.ManifestDir, "."+p.Name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(path) })
}

// deletePod removes the manifest: the kubelet then kills the pod.
func (n *Node) deletePod(t *testing.T, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(n.ManifestDir, name+".yaml")); err != nil {
		t.Fatal(err)
	}
}

// deleteAllPods removes every manifest and waits for the kubelet to drop
// the pods.
func (n *Node) deleteAllPods(t *testing.T) {
	entries, _ := os.ReadDir(n.ManifestDir)
	for _, e := range entries {
		_ = os.Remove(filepath.Join(n.ManifestDir, e.Name()))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pods, err := n.pods(ctx)
		cancel()
		if err == nil && len(pods) == 0 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("kubelet still lists pods 2m after their manifests were removed")
}

// logs reads /containerLogs with the given query (tailLines, timestamps,
// previous, ...), as `kubectl logs` does through the API server.
func (n *Node) logs(ctx context.Context, pod, container string, q url.Values) (string, error) {
	b, err := n.get(ctx, "/containerLogs/"+namespace+"/"+n.fullName(pod)+"/"+container+"?"+q.Encode())
	return string(b), err
}

// run is the kubelet's /run: a command's combined output, in one request.
func (n *Node) run(ctx context.Context, pod, container string, cmd string) (string, error) {
	b, err := n.post(ctx, "/run/"+namespace+"/"+n.fullName(pod)+"/"+container+"?"+url.Values{"cmd": {cmd}}.Encode())
	return string(b), err
}

func (n *Node) summary(ctx context.Context) (*statsapi.Summary, error) {
	b, err := n.get(ctx, "/stats/summary")
	if err != nil {
		return nil, err
	}
	var s statsapi.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode /stats/summary: %w", err)
	}
	return &s, nil
}
