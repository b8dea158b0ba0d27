package cri

import (
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

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

// maxSeccompProfile bounds a profile file; real ones are tens of KiB.
const maxSeccompProfile = 1 << 20

// localhostSeccomp reads a profile file: Docker takes the JSON itself. Only
// a regular file is read, and only so much of it: a client could name
// /dev/zero or a FIFO, which would otherwise hang the call or eat memory.
func localhostSeccomp(path string) ([]string, error) {
	if path == "" {
		return nil, invalidf("localhost seccomp profile without a path")
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, invalidf("seccomp profile: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, invalidf("seccomp profile: %v", err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxSeccompProfile {
		return nil, invalidf("seccomp profile %s: want a regular file of at most %d bytes", path, maxSeccompProfile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSeccompProfile+1))
	if err != nil {
		return nil, invalidf("seccomp profile: %v", err)
	}
	if len(b) > maxSeccompProfile {
		return nil, invalidf("seccomp profile %s: larger than %d bytes", path, maxSeccompProfile)
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
