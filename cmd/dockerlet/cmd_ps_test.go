package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

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
	const root, other = "/var/lib/dockerlet", "/var/lib/dockerlet/play/cri"
	managed := func(root string) map[string]string {
		return map[string]string{naming.LabelManaged: "true", naming.LabelRootDir: root, naming.LabelType: naming.TypeContainer,
			naming.LabelSandboxID: "5b1e2c3d4e5f60718293a4b5c6d7e8f9", naming.LabelCreated: strconv.FormatInt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), 10)}
	}
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
	create(nm.Build(naming.Name{Container: "app", Pod: "web", Namespace: "prod", UID: "u1", Attempt: 2}), managed(root), true)
	sandbox := managed(root)
	sandbox[naming.LabelType] = naming.TypeSandbox
	create(nm.BuildSandbox("web", "prod", "u1", 0), sandbox, true)
	named := managed(root)
	named[naming.LabelUserImage] = "registry.example/db:7"
	create(nm.Build(naming.Name{Container: "db", Pod: "api", Namespace: "dev", UID: "u2"}), named, true)
	create(nm.Build(naming.Name{Container: "init", Pod: "api", Namespace: "dev", UID: "u2"}), managed(root), false)
	// Another instance's container (play's, on the same engine).
	create(nm.Build(naming.Name{Container: "job", Pod: "batch", Namespace: "default", UID: "u3"}), managed(other), true)
	// Not listed: a managed label with a name that does not parse, a
	// k8s-looking name without the label, a user's own container, and a
	// managed label set to something other than "true".
	create("dltkit_broken", managed(root), true)
	create(nm.Build(naming.Name{Container: "fake", Pod: "p", Namespace: "n", UID: "u"}), nil, true)
	create("my-redis", nil, true)
	create(nm.Build(naming.Name{Container: "off", Pod: "p", Namespace: "n", UID: "u"}), map[string]string{naming.LabelManaged: "false"}, true)

	list := func(eng engine.Engine, nm naming.Namer, opts psOptions) []string {
		t.Helper()
		rows, err := listManaged(ctx, eng, nm, opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, strings.Join([]string{r.Name.Namespace, r.Name.Pod, r.Name.Container, strconv.Itoa(int(r.Name.Attempt)), r.State}, "/"))
		}
		return got
	}
	for _, tc := range []struct {
		opts psOptions
		want string
	}{
		// As crictl ps: running containers, no sandboxes.
		{psOptions{rootDir: root}, "dev/api/db/0/Running prod/web/app/2/Running"},
		{psOptions{rootDir: root, all: true}, "dev/api/db/0/Running dev/api/init/0/Created prod/web/app/2/Running"},
		{psOptions{rootDir: other}, "default/batch/job/0/Running"},
		{psOptions{}, "default/batch/job/0/Running dev/api/db/0/Running prod/web/app/2/Running"},
	} {
		if got := strings.Join(list(f, nm, tc.opts), " "); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.opts, got, tc.want)
		}
		// An engine that ignores label filters changes nothing: the
		// labels are checked again on this side.
		if got := strings.Join(list(filterlessEngine{f}, nm, tc.opts), " "); got != tc.want {
			t.Errorf("%+v, unfiltered engine: %s, want %s", tc.opts, got, tc.want)
		}
	}
	// Another prefix sees none of them.
	if got := list(f, naming.New(""), psOptions{all: true}); len(got) != 0 {
		t.Errorf("default prefix listed %v", got)
	}

	rows, err := listManaged(ctx, f, nm, psOptions{rootDir: root, all: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := printPs(&b, rows, time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "CONTAINER IMAGE CREATED STATE NAME ATTEMPT POD ID POD NAMESPACE" {
		t.Errorf("header %q", lines[0])
	}
	if !strings.Contains(lines[1], "registry.example/db:7") {
		t.Errorf("the image the pod named is not shown:\n%s", b.String())
	}
	if len(lines) != 4 || !strings.Contains(lines[3], "busybox:1") || !strings.Contains(lines[3], "5 minutes ago") ||
		!strings.Contains(lines[3], "Running") || !strings.Contains(lines[3], " app ") || !strings.Contains(lines[3], " 2 ") ||
		!strings.Contains(lines[3], "5b1e2c3d4e5f6 ") || !strings.Contains(lines[3], " web ") || !strings.HasSuffix(lines[3], "prod") {
		t.Errorf("ps output:\n%s", b.String())
	}
}

// filterlessEngine ignores label filters, as a careless engine might.
type filterlessEngine struct{ *fake.Fake }

func (e filterlessEngine) ListContainers(ctx context.Context, opts engine.ListOptions) ([]container.Summary, error) {
	opts.Labels = nil
	return e.Fake.ListContainers(ctx, opts)
}
