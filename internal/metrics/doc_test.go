package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every dockerlet_ metric is described in docs/metrics.md, and the page
// names none that does not exist.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	fqName := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, c := range New("v1").own {
		ch := make(chan *prometheus.Desc, 4)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			name := fqName.FindStringSubmatch(d.String())[1]
			have[name] = true
			if !strings.Contains(string(doc), "| `"+name+"` |") {
				t.Errorf("docs/metrics.md has no row for %s", name)
			}
		}
	}
	for _, mm := range regexp.MustCompile("(?m)^\\| `(dockerlet_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		if !have[mm[1]] {
			t.Errorf("docs/metrics.md describes %s, which is not a metric", mm[1])
		}
	}
	if len(have) < 15 {
		t.Errorf("only %d metrics gathered", len(have))
	}
}
