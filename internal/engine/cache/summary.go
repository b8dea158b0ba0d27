package cache

import (
	"fmt"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
)

// summarize derives the /containers/json record Docker would list for an
// inspected container. Status, the human "Up 3 minutes" text, depends on
// the clock and is filled in at list time by status.
func summarize(in *container.InspectResponse) container.Summary {
	s := container.Summary{
		ID:                      in.ID,
		Names:                   []string{"/" + strings.TrimPrefix(in.Name, "/")},
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
				fmt.Sscanf(b.HostPort, "%d", &public)
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

// status renders Docker's human state text ("Up 2 minutes",
// "Exited (0) 5 seconds ago") at now, as `docker ps` shows it.
func status(st *container.State, now time.Time) string {
	if st == nil {
		return ""
	}
	since := func(ts string) string {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || t.IsZero() || t.Year() <= 1 {
			return "Less than a second"
		}
		return units.HumanDuration(now.Sub(t))
	}
	switch {
	case st.Paused:
		return "Up " + since(st.StartedAt) + " (Paused)"
	case st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, since(st.FinishedAt))
	case st.Running:
		h := ""
		if st.Health != nil && st.Health.Status != container.NoHealthcheck {
			h = " (" + string(st.Health.Status) + ")"
		}
		return "Up " + since(st.StartedAt) + h
	case st.Status == container.StateRemoving:
		return "Removal In Progress"
	case st.Dead || st.Status == container.StateDead:
		return "Dead"
	case st.Status == container.StateCreated:
		return "Created"
	case st.FinishedAt == "" || strings.HasPrefix(st.FinishedAt, "0001-"):
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, since(st.FinishedAt))
}
