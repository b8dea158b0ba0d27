package cache

import (
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"

	"github.com/dockerlet/dockerlet/internal/engine"
	"github.com/dockerlet/dockerlet/internal/naming"
)

// populate makes a small node: two pods, running and exited containers, and
// a user's own container.
func (e *env) populate() map[string]string {
	e.t.Helper()
	ctx := e.ctx
	sb := e.create(e.cache, "k8s_POD_web_default_u1_0", map[string]string{
		naming.LabelManaged: "true", naming.LabelType: naming.TypeSandbox,
	})
	must(e.t, e.cache.StartContainer(ctx, sb))
	app := e.create(e.cache, "k8s_app_web_default_u1_0", managedLabels(naming.LabelSandboxID, sb, "tier", "front"))
	must(e.t, e.cache.StartContainer(ctx, app))
	side := e.create(e.cache, "k8s_side_web_default_u1_1", managedLabels(naming.LabelSandboxID, sb))
	must(e.t, e.cache.StartContainer(ctx, side))
	must(e.t, e.cache.StopContainer(ctx, side, 0))
	fresh := e.create(e.cache, "k8s_fresh_db_kube-system_u2_0", managedLabels(naming.LabelSandboxID, "other"))
	user := e.create(e.cache, "k8s_user_looks_managed_but_0", map[string]string{"tier": "front"})
	must(e.t, e.cache.StartContainer(ctx, user))
	return map[string]string{"sb": sb, "app": app, "side": side, "fresh": fresh, "user": user}
}

func TestListFiltersMatchEngine(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.populate()
	m := naming.ManagedLabelFilter
	cases := []struct {
		name string
		opts engine.ListOptions
		want []string // nil: only compare with the engine
	}{
		{"running only", engine.ListOptions{Labels: []string{m}}, []string{c["sb"], c["app"]}},
		{"all", engine.ListOptions{All: true, Labels: []string{m}}, []string{c["sb"], c["app"], c["side"], c["fresh"]}},
		{"label key=value", engine.ListOptions{All: true, Labels: []string{m, naming.LabelType + "=" + naming.TypeSandbox}}, []string{c["sb"]}},
		{"label key", engine.ListOptions{All: true, Labels: []string{m, "tier"}}, []string{c["app"]}},
		{"label of a pod", engine.ListOptions{All: true, Labels: []string{m, naming.LabelSandboxID + "=" + c["sb"]}}, []string{c["app"], c["side"]}},
		{"label absent value", engine.ListOptions{All: true, Labels: []string{m, "tier=back"}}, []string{}},
		{"full id", engine.ListOptions{All: true, Labels: []string{m}, IDs: []string{c["side"]}}, []string{c["side"]}},
		{"id prefix", engine.ListOptions{All: true, Labels: []string{m}, IDs: []string{c["fresh"][:5]}}, []string{c["fresh"]}},
		{"two ids", engine.ListOptions{All: true, Labels: []string{m}, IDs: []string{c["fresh"], c["app"][:20]}}, []string{c["fresh"], c["app"]}},
		{"unmanaged id", engine.ListOptions{All: true, Labels: []string{m}, IDs: []string{c["user"]}}, []string{}},
		{"name regexp", engine.ListOptions{All: true, Labels: []string{m}, Names: []string{"_web_"}}, []string{c["sb"], c["app"], c["side"]}},
		{"name with slash", engine.ListOptions{All: true, Labels: []string{m}, Names: []string{"^/k8s_fresh"}}, []string{c["fresh"]}},
		{"status exited", engine.ListOptions{Labels: []string{m}, Status: []string{"exited"}}, []string{c["side"]}},
		{"status created or running", engine.ListOptions{Labels: []string{m}, Status: []string{"created", "running"}}, []string{c["sb"], c["app"], c["fresh"]}},
		{"everything at once", engine.ListOptions{All: true, Labels: []string{m, "tier=front"}, IDs: []string{c["app"]}, Names: []string{"app"}, Status: []string{"running"}}, []string{c["app"]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			e.served(func() { got = ids(t, e.cache, tc.opts) })
			if want := sorted(tc.want...); !slices.Equal(got, want) {
				t.Errorf("cache %v, want %v", got, want)
			}
			if eng := ids(t, e.fake, tc.opts); !slices.Equal(got, eng) {
				t.Errorf("cache %v, engine %v", got, eng)
			}
		})
	}
}

func TestSummaryMatchesEngine(t *testing.T) {
	e := newEnv(t, Options{})
	e.populate()
	engList, err := e.fake.ListContainers(e.ctx, all)
	must(t, err)
	byID := map[string]container.Summary{}
	for _, s := range engList {
		byID[s.ID] = s
	}
	var list []container.Summary
	e.served(func() { list = mustList(t, e.cache) })
	if len(list) != len(engList) {
		t.Fatalf("%d summaries, engine %d", len(list), len(engList))
	}
	for i, s := range list {
		w := byID[s.ID]
		if !slices.Equal(s.Names, w.Names) || s.Image != w.Image || s.ImageID != w.ImageID ||
			s.Command != w.Command || s.Created != w.Created || s.State != w.State ||
			s.HostConfig.NetworkMode != w.HostConfig.NetworkMode || len(s.Labels) != len(w.Labels) {
			t.Errorf("summary\n got %+v\nwant %+v", s, w)
		}
		if s.Status == "" {
			t.Errorf("%s: empty Status", s.Names[0])
		}
		if i > 0 && list[i-1].Created < s.Created {
			t.Errorf("not newest first at %d", i)
		}
	}
}

func TestInspectResolution(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.populate()
	app := c["app"]
	for _, ref := range []string{app, app[:12], app[:30], "k8s_app_web_default_u1_0", "/k8s_app_web_default_u1_0"} {
		e.served(func() {
			in, err := e.cache.InspectContainer(e.ctx, ref)
			must(t, err)
			if in.ID != app {
				t.Errorf("%s resolved to %s", ref, in.ID)
			}
		})
	}
	// Short prefixes, unmanaged and unknown references go to the engine.
	for _, ref := range []string{app[:6], c["user"], "k8s_user_looks_managed_but_0", "nosuch"} {
		n := e.fake.CallCount("InspectContainer")
		_, _ = e.cache.InspectContainer(e.ctx, ref)
		if e.fake.CallCount("InspectContainer") == n {
			t.Errorf("%s answered from the cache", ref)
		}
	}
	if _, err := e.cache.InspectContainer(e.ctx, "nosuch"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown: %v", err)
	}
}

func TestUnmanagedQueriesPassThrough(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.populate()
	for _, opts := range []engine.ListOptions{
		{All: true},
		{All: true, Labels: []string{"tier=front"}},
		{Labels: []string{naming.LabelManaged}}, // a weaker filter than the cache's
	} {
		n := e.fake.CallCount("ListContainers")
		got := ids(t, e.cache, opts)
		if e.fake.CallCount("ListContainers") == n {
			t.Errorf("%+v answered from the cache", opts)
		}
		if want := ids(t, e.fake, opts); !slices.Equal(got, want) {
			t.Errorf("%+v: %v, want %v", opts, got, want)
		}
	}
	if got := ids(t, e.cache, engine.ListOptions{All: true, Labels: []string{"tier=front"}}); !slices.Equal(got, sorted(c["app"], c["user"])) {
		t.Errorf("pass-through list %v", got)
	}
}

func TestResultsAreCopies(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.populate()
	list := mustList(t, e.cache)
	list[0].Labels["x"] = "y"
	list[0].Names[0] = "/changed"
	in, err := e.cache.InspectContainer(e.ctx, c["app"])
	must(t, err)
	in.State.Running = false
	in.Config.Labels["x"] = "y"
	in.Config.Cmd[0] = "changed"
	in.HostConfig.Binds = append(in.HostConfig.Binds, "/a:/b")

	again := mustList(t, e.cache)
	if _, ok := again[0].Labels["x"]; ok || again[0].Names[0] == "/changed" {
		t.Error("summary mutation reached the cache")
	}
	in2, err := e.cache.InspectContainer(e.ctx, c["app"])
	must(t, err)
	if !in2.State.Running || in2.Config.Labels["x"] != "" || in2.Config.Cmd[0] != "sleep" || len(in2.HostConfig.Binds) != 0 {
		t.Errorf("inspect mutation reached the cache: %+v", in2.State)
	}
}

func TestBadNameFilter(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cache.ListContainers(e.ctx, engine.ListOptions{Labels: []string{naming.ManagedLabelFilter}, Names: []string{"("}})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("got %v, want ErrInvalidArgument", err)
	}
}
