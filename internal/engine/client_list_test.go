package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// listing is what Docker answers for n containers of a few-hundred-pod
// node: the labels, names and network settings of a pod's container.
func listing(n int) []container.Summary {
	out := make([]container.Summary, n)
	for i := range out {
		id := fmt.Sprintf("%064x", i+1)
		labels := map[string]string{}
		for _, k := range []string{"attempt", "container.name", "created", "image", "log-directory", "log-path", "managed", "pod.name", "pod.namespace", "pod.uid", "root-dir", "sandbox-id", "type"} {
			labels["io.dockerlet."+k] = fmt.Sprintf("/var/log/pods/ns_pod-%d_%s/%s", i, id[:8], k)
		}
		out[i] = container.Summary{
			ID: id, Names: []string{fmt.Sprintf("/k8s_c_pod-%d_ns_%s_0", i, id[:8])},
			Image: "registry.example/app:1", ImageID: "sha256:" + id, Command: "/bin/app --serve",
			Created: 1796508666, Labels: labels, State: container.StateRunning, Status: "Up 3 minutes",
			HostConfig: struct {
				NetworkMode string            `json:",omitempty"`
				Annotations map[string]string `json:",omitempty"`
			}{NetworkMode: "container:" + id},
			NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"bridge": {NetworkID: id, EndpointID: id}}},
		}
	}
	return out
}

func TestDecodeList(t *testing.T) {
	want := listing(3)
	body, _ := json.Marshal(want)
	got, err := decodeList(bytes.NewReader(body))
	if err != nil || len(got) != 3 || got[2].ID != want[2].ID || got[1].Labels["io.dockerlet.type"] != want[1].Labels["io.dockerlet.type"] ||
		got[0].NetworkSettings.Networks["bridge"].EndpointID != want[0].ID {
		t.Fatalf("decodeList: %d items, %v", len(got), err)
	}
	for _, empty := range []string{"[]", "null", " [ ] \n"} {
		if got, err := decodeList(strings.NewReader(empty)); err != nil || len(got) != 0 {
			t.Errorf("decodeList(%q) = %d items, %v", empty, len(got), err)
		}
	}
	for _, bad := range []string{"", "{}", `[{"Id":"a"}`, `[{"Id":"a"},`, `[{"Id":1}]`, `"x"`} {
		if got, err := decodeList(strings.NewReader(bad)); err == nil {
			t.Errorf("decodeList(%q) = %d items, want an error", bad, len(got))
		}
	}
}

// The listing is decoded as it arrives: the decoder never holds the whole
// answer, as decoding it in one piece does (its buffer doubles up to the
// answer's size).
func TestDecodeListHoldsOneContainerAtATime(t *testing.T) {
	body, _ := json.Marshal(listing(500))
	allocated := func(decode func() error) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := decode(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	whole := allocated(func() error {
		var out []container.Summary
		return json.NewDecoder(bytes.NewReader(body)).Decode(&out)
	})
	streamed := allocated(func() error {
		_, err := decodeList(bytes.NewReader(body))
		return err
	})
	t.Logf("listing of %d KiB: decoded whole %d KiB allocated, streamed %d KiB", len(body)>>10, whole>>10, streamed>>10)
	if streamed+uint64(len(body)) > whole {
		t.Errorf("streamed decoding allocated %d KiB, whole %d KiB: want at least the answer's %d KiB less", streamed>>10, whole>>10, len(body)>>10)
	}
}

func TestListContainersAsksAndDecodes(t *testing.T) {
	var query string
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/containers/json": func(w http.ResponseWriter, r *http.Request) {
			query = r.URL.RawQuery
			_ = json.NewEncoder(w).Encode(listing(2))
		},
	}, Options{})
	list, err := c.ListContainers(context.Background(), ListOptions{All: true, Labels: []string{"a=b"}, Status: []string{"running"}})
	if err != nil || len(list) != 2 || list[1].ID != listing(2)[1].ID {
		t.Fatalf("ListContainers: %d, %v", len(list), err)
	}
	if !strings.Contains(query, "all=1") || !strings.Contains(query, "filters=") {
		t.Fatalf("query %q", query)
	}
	var f map[string]map[string]bool
	q, _ := url.ParseQuery(query)
	if err := json.Unmarshal([]byte(q.Get("filters")), &f); err != nil || !f["label"]["a=b"] || !f["status"]["running"] {
		t.Fatalf("filters %v (%v)", f, err)
	}
}

func TestListContainersErrors(t *testing.T) {
	c := stubDaemon(t, map[string]http.HandlerFunc{
		"/containers/json": func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.RawQuery, "cut") {
				// An answer cut short: the daemon went away mid-listing.
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`[{"Id":"a"},{"Id":`))
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
			http.Error(w, `{"message":"invalid filter"}`, http.StatusBadRequest)
		},
	}, Options{})
	_, err := c.ListContainers(context.Background(), ListOptions{Labels: []string{"x"}})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "invalid filter") {
		t.Errorf("error answer: %v", err)
	}
	_, err = c.ListContainers(context.Background(), ListOptions{Names: []string{"cut"}})
	if !errdefs.IsUnavailable(err) {
		t.Errorf("cut answer: %v, want Unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListContainers(ctx, ListOptions{}); err == nil || errdefs.IsUnavailable(err) {
		t.Errorf("cancelled: %v, want the caller's cancellation", err)
	}
}
