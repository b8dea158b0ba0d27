package cri

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestApplyPrivileged(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	full := hostCaps{present: []string{"CAP_CHOWN", "CAP_SYS_RESOURCE"}, logger: quiet}
	var hc container.HostConfig
	full.applyPrivileged(&hc)
	if !hc.Privileged || len(hc.CapAdd) != 0 {
		t.Errorf("unrestricted host: %+v, want Docker's privileged mode", hc)
	}

	restricted := hostCaps{present: []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}, missing: []string{"CAP_SYS_RESOURCE"}, logger: quiet}
	hc = container.HostConfig{SecurityOpt: []string{"no-new-privileges", "seccomp={}"}}
	restricted.applyPrivileged(&hc)
	if hc.Privileged {
		t.Error("restricted host: Docker's privileged mode would fail in runc")
	}
	if !slices.Equal(hc.CapAdd, restricted.present) {
		t.Errorf("caps %v, want the host's %v", hc.CapAdd, restricted.present)
	}
	for _, o := range []string{"seccomp=unconfined", "apparmor=unconfined", "no-new-privileges"} {
		if !slices.Contains(hc.SecurityOpt, o) {
			t.Errorf("security opts %v lack %s", hc.SecurityOpt, o)
		}
	}
	if slices.Contains(hc.SecurityOpt, "seccomp={}") {
		t.Error("a seccomp profile survived privileged mode")
	}
	if hc.MaskedPaths == nil || len(hc.MaskedPaths) != 0 || hc.ReadonlyPaths == nil || len(hc.ReadonlyPaths) != 0 {
		t.Errorf("masked %v readonly %v, want explicitly empty", hc.MaskedPaths, hc.ReadonlyPaths)
	}
	if !slices.Contains(hc.DeviceCgroupRules, "a *:* rwm") {
		t.Errorf("device rules %v", hc.DeviceCgroupRules)
	}

	if got := restricted.expandAll([]string{"ALL"}); !slices.Equal(got, restricted.present) {
		t.Errorf("expandAll(ALL) = %v", got)
	}
	if got := restricted.expandAll([]string{"NET_ADMIN"}); !slices.Equal(got, []string{"NET_ADMIN"}) {
		t.Errorf("expandAll(NET_ADMIN) = %v", got)
	}
	if got := full.expandAll([]string{"ALL"}); !slices.Equal(got, []string{"ALL"}) {
		t.Errorf("unrestricted expandAll(ALL) = %v", got)
	}
}
