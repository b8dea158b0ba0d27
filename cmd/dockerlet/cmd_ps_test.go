package main

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/engine/fake"
	"github.com/dockerlet/dockerlet/internal/naming"
)

func TestListManaged(t *testing.T) {
	ctx := context.Background()
	f := fake.New()
	f.AddImage(image.InspectResponse{RepoTags: []string{"busybox:1"}})
	managed := map[string]string{naming.LabelManaged: "true"}
	create := func(name string, labels map[string]string, start bool) {
		t.Helper()
		id, err := f.CreateContainer(ctx, engine.CreateSpec{Name: name, Config: &container.Config{Image: "busybox:1", Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		if start {
			if err := f.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	nm := naming.New("dltkit")
	create(nm.Build(naming.Name{Container: "app", Pod: "web", Namespace: "prod", UID: "u1", Attempt: 2}), managed, true)
	create(nm.BuildSandbox("web", "prod", "u1", 0), managed, false)
	create(nm.Build(naming.Name{Container: "db", Pod: "api", Namespace: "dev", UID: "u2"}), managed, true)
	// Not listed: a managed label with a name that does not parse, a
	// k8s-looking name without the label, a user's own container, and a
	// managed label set to something other than "true".
	create("dltkit_broken", managed, true)
	create(nm.Build(naming.Name{Container: "fake", Pod: "p", Namespace: "n", UID: "u"}), nil, true)
	create("my-redis", nil, true)
	create(nm.Build(naming.Name{Container: "off", Pod: "p", Namespace: "n", UID: "u"}), map[string]string{naming.LabelManaged: "false"}, true)

	rows, err := listManaged(ctx, f, nm, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.Name.Namespace, r.Name.Pod, r.Name.Container, string(rune('0' + r.Name.Attempt)), r.State}, "/"))
	}
	want := []string{"dev/api/db/0/running", "prod/web/POD/0/created", "prod/web/app/2/running"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listManaged = %v, want %v", got, want)
	}

	// An engine that ignores label filters changes nothing: the label is
	// checked again on this side.
	unfiltered, err := listManaged(ctx, filterlessEngine{f}, nm, true)
	if err != nil || len(unfiltered) != len(rows) {
		t.Errorf("without engine-side filtering: %d rows (%v), want %d", len(unfiltered), err, len(rows))
	}

	running, err := listManaged(ctx, f, nm, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 2 {
		t.Errorf("running only: %d rows, want 2", len(running))
	}

	// Another prefix sees none of them.
	other, err := listManaged(ctx, f, naming.New(""), true)
	if err != nil || len(other) != 0 {
		t.Errorf("default prefix listed %d rows (%v)", len(other), err)
	}

	var b strings.Builder
	if err := printPs(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{"NAMESPACE", "POD", "ATTEMPT", "STATE", "prod", "web", "app", "running", "created"} {
		if !strings.Contains(out, s) {
			t.Errorf("ps output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "my-redis") || strings.Contains(out, "broken") {
		t.Errorf("ps output shows unmanaged containers:\n%s", out)
	}
}

// filterlessEngine ignores label filters, as a careless engine might.
type filterlessEngine struct{ *fake.Fake }

func (e filterlessEngine) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	opts.Labels = nil
	return e.Fake.ListContainers(ctx, opts)
}
