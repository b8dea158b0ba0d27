package cri

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine"
	imgref "github.com/dockerlet/dockerlet/internal/image"
	"github.com/dockerlet/dockerlet/internal/keyring"
)

// PullImage pulls an image (through a configured mirror for its registry)
// and returns its id.
func (s *Service) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	spec := req.GetImage().GetImage()
	ref, err := normalizeRef(spec)
	if err != nil {
		return nil, err
	}
	if err := s.pull(ctx, ref, req.Auth); err != nil {
		return nil, err
	}
	img, err := s.eng.InspectImageByRef(ctx, ref.String())
	if err != nil {
		return nil, fmt.Errorf("pulled %s but cannot find it: %w", ref, err)
	}
	return &runtimeapi.PullImageResponse{ImageRef: img.ID}, nil
}

// ensureImage pulls ref when it is not present (the sandbox image).
func (s *Service) ensureImage(ctx context.Context, spec string) error {
	_, err := imgref.Resolve(ctx, s.eng, spec)
	if err == nil || !errdefs.IsNotFound(err) {
		return err
	}
	ref, err := normalizeRef(spec)
	if err != nil {
		return err
	}
	return s.pull(ctx, ref, nil)
}

// pull fetches ref, from its registry's mirror when one is configured: the
// mirror's copy is then tagged under the requested name, and the mirror's
// own name removed again unless it was there before.
func (s *Service) pull(ctx context.Context, ref reference.Named, auth *runtimeapi.AuthConfig) error {
	defer s.imageRefs.forget() // a pull may add a digest to an image or move a tag
	src := ref.String()
	mirrored := false
	if m, ok := s.cfg.Mirrors[reference.Domain(ref)]; ok {
		src = m + "/" + reference.Path(ref) + strings.TrimPrefix(ref.String(), ref.Name())
		mirrored = true
	}
	hadSrc := false
	if mirrored {
		_, err := s.eng.InspectImageByRef(ctx, src)
		hadSrc = err == nil
	}
	if mirrored && authConfig(auth) != nil && !s.cfg.MirrorCredentials && !authFor(auth, src) {
		// The request's credentials are the registry's (the kubelet picked
		// them by the image's registry), not the mirror's: another party's
		// server, perhaps reached over plain HTTP, must not get them.
		s.log(ctx).Info("not sending the pull request's credentials to the registry's mirror", "image", ref.String(), "mirror", reference.Domain(ref))
		auth = nil
	}
	if err := s.pullOne(ctx, src, auth); err != nil {
		return err
	}
	if !mirrored {
		return nil
	}
	if _, isDigest := ref.(reference.Digested); isDigest {
		// A digest cannot be tagged; Docker finds it by digest only under the
		// mirror's name.
		return nil
	}
	if err := s.eng.TagImage(ctx, src, ref.String()); err != nil {
		return fmt.Errorf("tag mirrored %s as %s: %w", src, ref, err)
	}
	if !hadSrc {
		if _, err := s.eng.RemoveImage(ctx, src, engine.ImageRemoveOptions{}); err != nil {
			s.log(ctx).Warn("removing the mirror's tag failed", "tag", src, "err", err)
		}
	}
	return nil
}

// authFor reports whether the credential names ref's registry as its
// server (a credential the client chose for the mirror itself).
func authFor(a *runtimeapi.AuthConfig, ref string) bool {
	server := a.GetServerAddress()
	if server == "" {
		return false
	}
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		server = u.Host
	}
	named, err := reference.ParseNormalizedNamed(ref)
	return err == nil && reference.Domain(named) == strings.TrimSuffix(server, "/")
}

// pullOne pulls with the request's credential first, then the node's.
func (s *Service) pullOne(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) error {
	var creds []keyring.Credential
	if a := authConfig(auth); a != nil {
		creds = append(creds, keyring.Credential{Source: "PullImageRequest.auth", Registry: a.ServerAddress, Auth: *a})
	}
	if s.cfg.Keyring != nil {
		node, err := s.cfg.Keyring.Lookup(ref)
		if err != nil {
			s.log(ctx).Warn("credential lookup failed; pulling without the node's credentials", "image", ref, "err", err)
		}
		creds = append(creds, node...)
	}
	s.log(ctx).Info("pulling image", "image", ref, "credentials", len(creds))
	if _, err := s.cfg.Puller.Pull(ctx, ref, creds, nil); err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// authConfig converts the CRI credential; nil for none.
func authConfig(a *runtimeapi.AuthConfig) *registry.AuthConfig {
	if a == nil || (a.Username == "" && a.Password == "" && a.Auth == "" && a.IdentityToken == "" && a.RegistryToken == "") {
		return nil
	}
	cfg := &registry.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		ServerAddress: a.ServerAddress,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	}
	// Docker's daemon does not read "auth" (its CLI decodes it before
	// sending): decode it into the user and password here.
	if cfg.Username == "" && cfg.Password == "" && cfg.Auth != "" {
		if b, err := base64.StdEncoding.DecodeString(cfg.Auth); err == nil {
			if u, p, ok := strings.Cut(string(b), ":"); ok {
				cfg.Username, cfg.Password = u, p
			}
		}
	}
	return cfg
}
