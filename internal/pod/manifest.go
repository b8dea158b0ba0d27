package pod

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Manifest is everything one FILE|DIR|- holds: pods (workloads already
// reduced to their pods), the Secrets and ConfigMaps they may refer to, and
// a warning for every field dockerlet does not honour.
type Manifest struct {
	// Source is the absolute path given to Load, or "-" for stdin.
	Source     string
	Pods       []*corev1.Pod
	Secrets    map[string]*corev1.Secret    // by namespace/name
	ConfigMaps map[string]*corev1.ConfigMap // by namespace/name
	// Claims are the PersistentVolumeClaims declared (a StatefulSet's
	// included), by namespace/name.
	Claims   map[string]bool
	Services map[string]*corev1.Service // by namespace/name
	// Jobs are run by the supervisor's Job controller, which makes their
	// pods (job_controller.go).
	Jobs []*batchv1.Job
	// Deployments are run by the supervisor's Deployment controller
	// (deploy_controller.go), which rolls a changed template out.
	Deployments []*appsv1.Deployment
	Warnings    []Warning
}

// Warning reports a field that was decoded but is not honoured.
type Warning struct {
	Object string // "Pod default/web" as found in the document
	Doc    string // "file.yaml#2"
	Path   string // "spec.containers[0].stdin"
	Reason string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", w.Doc, w.Object, w.Path, w.Reason)
}

// DefaultNamespace is used for objects that name none.
const DefaultNamespace = "default"

func key(ns, name string) string { return ns + "/" + name }

// Load reads a manifest file, every *.yaml/*.yml/*.json file of a
// directory (in name order, not recursive), or stdin for "-".
func Load(path string, stdin io.Reader) (*Manifest, error) {
	m := newManifest(path)
	if path == "-" {
		if stdin == nil {
			return nil, errors.New("load -: no standard input")
		}
		if err := m.parse("-", stdin); err != nil {
			return nil, err
		}
		return m, m.validate()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m.Source = abs
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	files := []string{abs}
	if st.IsDir() {
		if files, err = manifestFiles(abs); err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("load %s: no *.yaml, *.yml or *.json files", path)
		}
	}
	for _, f := range files {
		if err := m.parseFile(f); err != nil {
			return nil, err
		}
	}
	return m, m.validate()
}

// Parse reads manifests from r; name labels warnings and errors.
func Parse(name string, r io.Reader) (*Manifest, error) {
	m := newManifest(name)
	if err := m.parse(name, r); err != nil {
		return nil, err
	}
	return m, m.validate()
}

func newManifest(source string) *Manifest {
	return &Manifest{Source: source, Secrets: map[string]*corev1.Secret{}, ConfigMaps: map[string]*corev1.ConfigMap{}, Claims: map[string]bool{}, Services: map[string]*corev1.Service{}}
}

func manifestFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

func (m *Manifest) parseFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	return m.parse(filepath.Base(path), f)
}

// parse splits r into YAML documents and decodes each.
func (m *Manifest) parse(name string, r io.Reader) error {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 1; ; i++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		if err := m.decodeDocument(fmt.Sprintf("%s#%d", name, i), doc); err != nil {
			return err
		}
	}
}

// stripComments drops whole-line comments so that a document holding only
// comments counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// validate checks what spans documents: unique pod names, references
// between objects are checked at translation time (optional ones may be
// missing).
func (m *Manifest) validate() error {
	seen := map[string]bool{}
	for _, p := range m.Pods {
		k := key(p.Namespace, p.Name)
		if seen[k] {
			return fmt.Errorf("%s: pod %s defined twice", m.Source, k)
		}
		seen[k] = true
	}
	deployments := map[string]bool{}
	for _, d := range m.Deployments {
		k := key(d.Namespace, d.Name)
		if deployments[k] {
			return fmt.Errorf("%s: deployment %s defined twice", m.Source, k)
		}
		deployments[k] = true
	}
	jobs := map[string]bool{}
	for _, j := range m.Jobs {
		k := key(j.Namespace, j.Name)
		if jobs[k] {
			return fmt.Errorf("%s: job %s defined twice", m.Source, k)
		}
		jobs[k] = true
	}
	return nil
}

// Secret returns a secret of the manifest.
func (m *Manifest) Secret(ns, name string) (*corev1.Secret, bool) {
	s, ok := m.Secrets[key(ns, name)]
	return s, ok
}

// ConfigMap returns a config map of the manifest.
func (m *Manifest) ConfigMap(ns, name string) (*corev1.ConfigMap, bool) {
	c, ok := m.ConfigMaps[key(ns, name)]
	return c, ok
}
