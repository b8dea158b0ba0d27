// Command summary reads the Ginkgo JSON report of a node e2e run and prints
// what happened to every spec in scope (the specs carrying each -require
// label): the failures with their message, the skipped specs with their
// reason (the skip list's, the label that keeps them out of this run, or
// the spec's own skip message), and last the counts line
//
//	NAME: N passed, N failed, N skipped
//
// It exits 1 when a spec in scope failed (or the suite did not start), 2
// when the report cannot be read.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// specReport is the part of Ginkgo's types.SpecReport this reads.
type specReport struct {
	ContainerHierarchyTexts  []string
	ContainerHierarchyLabels [][]string
	LeafNodeType             string
	LeafNodeText             string
	LeafNodeLabels           []string
	State                    string
	RunTime                  int64 // ns
	Failure                  struct {
		Message string
	}
}

type suiteReport struct {
	SuiteSucceeded bool
	SpecReports    []specReport
}

func (s specReport) text() string {
	return strings.Join(append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText), " ")
}

func (s specReport) labels() map[string]bool {
	m := map[string]bool{}
	for _, ls := range append(s.ContainerHierarchyLabels, s.LeafNodeLabels) {
		for _, l := range ls {
			m[l] = true
		}
	}
	return m
}

type labelList []string

func (t *labelList) String() string     { return strings.Join(*t, ",") }
func (t *labelList) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var require, exclude labelList
	report := flag.String("report", "", "Ginkgo JSON report")
	skips := flag.String("skips", "", "skip list: lines of spec text TAB reason")
	name := flag.String("name", "node-conformance", "name on the counts line")
	flag.Var(&require, "require", "label every spec in scope carries (repeatable), e.g. NodeConformance")
	flag.Var(&exclude, "out-of-run", "label whose specs this run leaves out (repeatable), e.g. Serial")
	flag.Parse()
	code, err := run(os.Stdout, *report, *skips, *name, require, exclude)
	if err != nil {
		fmt.Fprintln(os.Stderr, "summary:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// result is one spec in scope.
type result struct {
	text, state, reason string
	seconds             float64
}

func run(w io.Writer, reportPath, skipsPath, name string, require, exclude []string) (int, error) {
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return 0, err
	}
	var suites []suiteReport
	if err := json.Unmarshal(b, &suites); err != nil {
		return 0, fmt.Errorf("%s: %w", reportPath, err)
	}
	reasons, err := readSkips(skipsPath)
	if err != nil {
		return 0, err
	}
	var results []result
	var setupFailures []string
	for _, s := range suites {
		for _, sp := range s.SpecReports {
			if sp.LeafNodeType != "It" {
				if failed(sp.State) {
					setupFailures = append(setupFailures, fmt.Sprintf("%s: %s", sp.LeafNodeType, firstLine(sp.Failure.Message)))
				}
				continue
			}
			t, labels := sp.text(), sp.labels()
			if !hasAll(labels, require) {
				continue
			}
			r := result{text: t, state: sp.State, seconds: float64(sp.RunTime) / 1e9}
			switch {
			case sp.State == "passed":
			case failed(sp.State):
				r.state = "failed"
				r.reason = firstLine(sp.Failure.Message)
			default: // skipped, pending
				r.state = "skipped"
				r.reason = skipReason(t, labels, sp, reasons, exclude)
			}
			results = append(results, r)
		}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].text < results[j].text })
	n := map[string]int{}
	for _, r := range results {
		n[r.state]++
	}
	printSection(w, "skipped", results)
	printSection(w, "failed", results)
	for _, f := range setupFailures {
		fmt.Fprintf(w, "suite set-up failed: %s\n", f)
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped\n", name, n["passed"], n["failed"], n["skipped"])
	if n["failed"] > 0 || len(setupFailures) > 0 || n["passed"] == 0 {
		return 1, nil
	}
	return 0, nil
}

func printSection(w io.Writer, state string, results []result) {
	for _, r := range results {
		if r.state == state {
			fmt.Fprintf(w, "%s\t%s\t%s\n", state, r.text, r.reason)
		}
	}
}

func failed(state string) bool {
	switch state {
	case "failed", "panicked", "interrupted", "aborted", "timedout":
		return true
	}
	return false
}

func hasAll(labels map[string]bool, want []string) bool {
	for _, l := range want {
		if !labels[l] {
			return false
		}
	}
	return true
}

// skipReason: the skip list's reason, else the label that keeps the spec
// out of this run, else the spec's own skip message.
func skipReason(text string, labels map[string]bool, sp specReport, reasons map[string]string, exclude []string) string {
	if r, ok := reasons[text]; ok {
		return r
	}
	for _, l := range exclude {
		if labels[l] {
			return "label " + l
		}
	}
	if m := firstLine(sp.Failure.Message); m != "" {
		return "skipped by the spec: " + m
	}
	return "not selected"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// readSkips reads "spec text<TAB>reason" lines; # starts a comment.
func readSkips(p string) (map[string]string, error) {
	m := map[string]string{}
	if p == "" {
		return m, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, reason, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s: line %q: want spec text TAB reason", p, line)
		}
		m[text] = reason
	}
	return m, sc.Err()
}
