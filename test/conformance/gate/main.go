// Command gate reads the critest harness's summary.json and fails when a
// spec failed that is not in the accepted list (the failures this machine
// itself causes, each named with its reason in the README).
//
//	go run ./test/conformance/gate summary.json accepted-failures.txt
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type summary struct {
	Passed      int `json:"passed"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	FailedSpecs []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"failed_specs"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gate summary.json accepted-failures.txt")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "conformance gate:", err)
		os.Exit(1)
	}
}

func run(summaryPath, acceptedPath string) error {
	b, err := os.ReadFile(summaryPath)
	if err != nil {
		return err
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", summaryPath, err)
	}
	accepted, err := readAccepted(acceptedPath)
	if err != nil {
		return err
	}
	var own []string
	for _, f := range s.FailedSpecs {
		if !accepted[f.Name] {
			own = append(own, f.Name+"\n      "+firstLine(f.Reason))
		}
	}
	fmt.Printf("conformance gate: %d passed, %d failed (%d accepted for this machine), %d skipped\n",
		s.Passed, s.Failed, s.Failed-len(own), s.Skipped)
	if len(own) > 0 {
		return fmt.Errorf("%d failure(s) not accepted:\n  %s", len(own), strings.Join(own, "\n  "))
	}
	return nil
}

// readAccepted reads one spec name per line; '#' starts a comment line and a
// TAB separates the name from its reason.
func readAccepted(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "\t")
		m[name] = true
	}
	return m, sc.Err()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
