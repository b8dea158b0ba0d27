package keyring

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
)

// Keyring holds credentials in two tiers, as the kubelet did: pull secrets,
// then the node's own Docker configuration. Lookup returns every matching
// credential, secrets first, the most specific registry key first within
// a tier. A Keyring is not safe for concurrent mutation; build it, then
// share it read-only.
type Keyring struct {
	secrets []entry
	node    []entry
	helpers []helperSource
	log     *slog.Logger
}

type entry struct {
	pat  pattern
	cred Credential
}

// New returns an empty keyring. A nil logger discards.
func New(log *slog.Logger) *Keyring {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keyring{log: log}
}

// addAuths adds registry key → auth entries from source to a tier. Keys
// that cannot be parsed are skipped with a warning, as the kubelet did;
// entries without any secret (markers left by credential stores) are not
// credentials and are skipped silently.
func (k *Keyring) addAuths(tier *[]entry, source string, auths map[string]registry.AuthConfig) {
	keys := make([]string, 0, len(auths))
	for key := range auths {
		keys = append(keys, key)
	}
	slices.Sort(keys) // map order must not leak into lookup order
	for _, key := range keys {
		c := Credential{Source: source, Registry: key, Auth: auths[key]}
		if c.empty() {
			continue
		}
		p, err := parsePattern(key)
		if err != nil {
			k.log.Warn("ignoring registry entry", "source", source, "error", err)
			continue
		}
		*tier = append(*tier, entry{pat: p, cred: c})
	}
}

// Lookup returns the candidate credentials for an image reference, in the
// order a puller should try them. No match is an empty list, not an error;
// only an unparseable reference is an error.
func (k *Keyring) Lookup(image string) ([]Credential, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", image, err)
	}
	domain := reference.Domain(named)
	u, err := url.Parse("https://" + domain)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: registry %q: %w", image, domain, err)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if dockerHubHosts[host] {
		host = "docker.io"
	}
	repoPath := "/" + reference.Path(named)

	var out []Credential
	seen := map[string]bool{}
	add := func(c Credential) {
		if id := c.Identity(); !seen[id] {
			seen[id] = true
			out = append(out, c)
		}
	}
	for _, tier := range [][]entry{k.secrets, k.node} {
		var hits []entry
		for _, e := range tier {
			if e.pat.matches(host, port, repoPath) {
				hits = append(hits, e)
			}
		}
		slices.SortStableFunc(hits, func(a, b entry) int {
			switch {
			case a.pat.moreSpecificThan(b.pat):
				return -1
			case b.pat.moreSpecificThan(a.pat):
				return 1
			}
			return 0
		})
		for _, e := range hits {
			add(e.cred)
		}
	}
	for _, h := range k.helpers {
		c, ok := h.get(domain, k.log)
		if ok {
			add(c)
		}
	}
	return out, nil
}
