package cri

import (
	"os"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Legacy profile strings of the deprecated *_profile_path fields.
const (
	profileUnconfined     = "unconfined"
	profileRuntimeDefault = "runtime/default"
	profileDockerDefault  = "docker/default"
	profileLocalhost      = "localhost/"
)

// seccompOpts returns Docker security options for a seccomp profile. As in
// every CRI runtime, no profile at all means unconfined; privileged
// containers get none (Docker ignores seccomp for them anyway).
func seccompOpts(p *runtimeapi.SecurityProfile, legacy string, privileged bool) ([]string, error) {
	if privileged {
		return nil, nil
	}
	if p != nil {
		switch p.ProfileType {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			return nil, nil
		case runtimeapi.SecurityProfile_Unconfined:
			return []string{"seccomp=unconfined"}, nil
		case runtimeapi.SecurityProfile_Localhost:
			return localhostSeccomp(p.LocalhostRef)
		}
		return nil, invalidf("seccomp profile type %v", p.ProfileType)
	}
	switch {
	case legacy == "" || legacy == profileUnconfined:
		return []string{"seccomp=unconfined"}, nil
	case legacy == profileRuntimeDefault || legacy == profileDockerDefault:
		return nil, nil
	case strings.HasPrefix(legacy, profileLocalhost):
		return localhostSeccomp(strings.TrimPrefix(legacy, profileLocalhost))
	}
	return nil, invalidf("seccomp profile %q: want unconfined, runtime/default or localhost/<path>", legacy)
}

// localhostSeccomp reads a profile file: Docker takes the JSON itself.
func localhostSeccomp(path string) ([]string, error) {
	if path == "" {
		return nil, invalidf("localhost seccomp profile without a path")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, invalidf("seccomp profile: %v", err)
	}
	return []string{"seccomp=" + string(b)}, nil
}

// apparmorOpts returns Docker security options for an AppArmor profile; no
// profile means the runtime default.
func apparmorOpts(p *runtimeapi.SecurityProfile, legacy string, privileged bool) ([]string, error) {
	if privileged {
		return nil, nil
	}
	if p != nil {
		switch p.ProfileType {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			return nil, nil
		case runtimeapi.SecurityProfile_Unconfined:
			return []string{"apparmor=unconfined"}, nil
		case runtimeapi.SecurityProfile_Localhost:
			if p.LocalhostRef == "" {
				return nil, invalidf("localhost apparmor profile without a name")
			}
			return []string{"apparmor=" + strings.TrimPrefix(p.LocalhostRef, profileLocalhost)}, nil
		}
		return nil, invalidf("apparmor profile type %v", p.ProfileType)
	}
	switch {
	case legacy == "" || legacy == profileRuntimeDefault:
		return nil, nil
	case legacy == profileUnconfined:
		return []string{"apparmor=unconfined"}, nil
	case strings.HasPrefix(legacy, profileLocalhost):
		return []string{"apparmor=" + strings.TrimPrefix(legacy, profileLocalhost)}, nil
	}
	return nil, invalidf("apparmor profile %q: want unconfined, runtime/default or localhost/<name>", legacy)
}

// userSpec builds Docker's "user[:group]". A group without a user applies
// to imageUser (the image's USER; root when the image has none).
func userSpec(uid, gid *runtimeapi.Int64Value, username, imageUser string) string {
	user := username
	if uid != nil {
		user = strconv.FormatInt(uid.Value, 10)
	}
	if gid == nil {
		return user
	}
	if user == "" {
		user, _, _ = strings.Cut(imageUser, ":")
		if user == "" {
			user = "0"
		}
	}
	return user + ":" + strconv.FormatInt(gid.Value, 10)
}
