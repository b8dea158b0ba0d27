package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// dockerFloor asks Docker directly what a runtime that asks Docker on
// every call must ask it at the least: the run's containers listed (a
// relist), and one container inspected (a status call). Both runtimes
// name their containers after the pod (k8s_<container>_<pod>_...), so a
// name filter on the run's pod names selects the same set under either.
type dockerFloor struct {
	c *http.Client
}

func newDockerFloor(endpoint string) (*dockerFloor, error) {
	path, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		return nil, fmt.Errorf("-docker: want unix:///path, got %q", endpoint)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &dockerFloor{c: &http.Client{Transport: tr}}, nil
}

func (f *dockerFloor) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := f.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("docker %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// calls are the floor's rows, sampled beside the runtime's.
func (f *dockerFloor) calls(b *bench) []namedCall {
	filter, _ := json.Marshal(map[string][]string{"name": {"dlbench-" + b.runID + "-"}})
	list := "/containers/json?all=1&filters=" + url.QueryEscape(string(filter))
	var ids []string
	return []namedCall{
		{"docker:ListContainers", false, func(c context.Context, _ int) error {
			var out []struct {
				ID string `json:"Id"`
			}
			if err := f.get(c, list, &out); err != nil {
				return err
			}
			if len(ids) == 0 || len(out) != len(ids) {
				ids = ids[:0]
				for _, o := range out {
					ids = append(ids, o.ID)
				}
			}
			return nil
		}},
		{"docker:InspectContainer", false, func(c context.Context, i int) error {
			if len(ids) == 0 {
				return fmt.Errorf("no containers listed")
			}
			var out map[string]any
			return f.get(c, "/containers/"+ids[i%len(ids)]+"/json", &out)
		}},
	}
}
