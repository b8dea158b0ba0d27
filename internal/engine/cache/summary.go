package cache

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// summarize derives the /containers/json record Docker would list for an
// inspected container. Status, the human "Up 3 minutes" text, depends on
// the clock and is filled in at list time by status.
func summarize(in *container.InspectResponse) container.Summary {
	s := container.Summary{
		ID:                      in.ID,
		Names:                   []string{slashName(in.Name)},
		ImageID:                 in.Image,
		Command:                 command(in),
		Created:                 created(in).Unix(),
		Mounts:                  in.Mounts,
		ImageManifestDescriptor: in.ImageManifestDescriptor,
	}
	if in.Config != nil {
		s.Image = in.Config.Image
		s.Labels = in.Config.Labels
	}
	if in.State != nil {
		s.State = in.State.Status
		if h := in.State.Health; h != nil {
			s.Health = &container.HealthSummary{Status: h.Status, FailingStreak: h.FailingStreak}
		}
	}
	if in.HostConfig != nil {
		s.HostConfig.NetworkMode = string(in.HostConfig.NetworkMode)
		s.HostConfig.Annotations = in.HostConfig.Annotations
	}
	if ns := in.NetworkSettings; ns != nil {
		s.NetworkSettings = &container.NetworkSettingsSummary{Networks: ns.Networks}
		for port, bindings := range ns.Ports {
			if len(bindings) == 0 {
				s.Ports = append(s.Ports, container.PortSummary{PrivatePort: port.Num(), Type: string(port.Proto())})
				continue
			}
			for _, b := range bindings {
				var public uint16
				_, _ = fmt.Sscanf(b.HostPort, "%d", &public) // Docker writes a number; else 0
				s.Ports = append(s.Ports, container.PortSummary{
					IP: b.HostIP, PrivatePort: port.Num(), PublicPort: public, Type: string(port.Proto()),
				})
			}
		}
	}
	// The summary shares memory with the inspect snapshot; both are
	// immutable and copied on the way out.
	return s
}

// slashName is name as Docker lists it, with one leading "/"; inspect
// gives it so, and then the record's own string is shared.
func slashName(name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/" + name
}

func command(in *container.InspectResponse) string {
	if len(in.Args) == 0 {
		return in.Path
	}
	return in.Path + " " + strings.Join(in.Args, " ")
}

// created parses the inspect Created time; zero when absent or malformed.
func created(in *container.InspectResponse) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, in.Created)
	return t
}

// copySummary returns a copy of s that shares no mutable memory with it;
// by hand, as the List hot path copies up to a node's worth per call.
func copySummary(s *container.Summary) container.Summary {
	out := *s
	out.Names = slices.Clone(s.Names)
	out.Labels = maps.Clone(s.Labels)
	out.Ports = slices.Clone(s.Ports) // PortSummary holds values only
	out.Mounts = slices.Clone(s.Mounts)
	out.HostConfig.Annotations = maps.Clone(s.HostConfig.Annotations)
	if s.Health != nil {
		out.Health = new(*s.Health)
	}
	if s.ImageManifestDescriptor != nil {
		out.ImageManifestDescriptor = new(deepCopy(*s.ImageManifestDescriptor))
	}
	if s.NetworkSettings != nil {
		nets := make(map[string]*network.EndpointSettings, len(s.NetworkSettings.Networks))
		for k, ep := range s.NetworkSettings.Networks {
			c := ep.Copy() // moby's deep copy, but for the MAC's bytes
			if c != nil {
				c.MacAddress = slices.Clone(c.MacAddress)
			}
			nets[k] = c
		}
		if s.NetworkSettings.Networks == nil {
			nets = nil
		}
		out.NetworkSettings = &container.NetworkSettingsSummary{Networks: nets}
	}
	return out
}

// times holds the parsed state timestamps that status needs, so that the
// List hot path does not parse them.
type times struct{ started, finished time.Time }

func parseTimes(st *container.State) times {
	if st == nil {
		return times{}
	}
	s, _ := time.Parse(time.RFC3339Nano, st.StartedAt)
	f, _ := time.Parse(time.RFC3339Nano, st.FinishedAt)
	return times{s, f}
}

// status renders Docker's human state text ("Up 2 minutes",
// "Exited (0) 5 seconds ago") at now, as `docker ps` shows it.
func status(st *container.State, ts times, now time.Time) string {
	if st == nil {
		return ""
	}
	since := func(t time.Time) string {
		if t.Year() <= 1 {
			return "Less than a second"
		}
		return units.HumanDuration(now.Sub(t))
	}
	switch {
	case st.Paused:
		return "Up " + since(ts.started) + " (Paused)"
	case st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, since(ts.finished))
	case st.Running:
		h := ""
		if st.Health != nil && st.Health.Status != container.NoHealthcheck {
			h = " (" + string(st.Health.Status) + ")"
		}
		return "Up " + since(ts.started) + h
	case st.Status == container.StateRemoving:
		return "Removal In Progress"
	case st.Dead || st.Status == container.StateDead:
		return "Dead"
	case st.Status == container.StateCreated:
		return "Created"
	case ts.finished.Year() <= 1:
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, since(ts.finished))
}
