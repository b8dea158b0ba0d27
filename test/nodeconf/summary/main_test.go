package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const report = `[{"SuiteSucceeded": false, "SpecReports": [
 {"LeafNodeType": "SynchronizedBeforeSuite", "State": "passed"},
 {"ContainerHierarchyTexts": ["[sig-node] Pods", "[NodeConformance]"], "ContainerHierarchyLabels": [["NodeConformance"], []],
  "LeafNodeType": "It", "LeafNodeText": "should run", "LeafNodeLabels": [], "State": "passed", "RunTime": 2000000000},
 {"ContainerHierarchyTexts": ["[sig-node] Pods"], "ContainerHierarchyLabels": [[]],
  "LeafNodeType": "It", "LeafNodeText": "should fail [NodeConformance]", "LeafNodeLabels": ["NodeConformance"],
  "State": "failed", "Failure": {"Message": "timed out\nwaiting for pod"}},
 {"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "serial [NodeConformance] [Serial]",
  "LeafNodeLabels": ["NodeConformance", "Serial"], "State": "skipped"},
 {"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "needs apparmor [NodeConformance]",
  "LeafNodeLabels": ["NodeConformance"], "State": "skipped"},
 {"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "skips itself [NodeConformance]",
  "LeafNodeLabels": ["NodeConformance"], "State": "skipped", "Failure": {"Message": "Only supported for cgroup v2"}},
 {"ContainerHierarchyTexts": ["[sig-storage] Volumes"], "LeafNodeType": "It", "LeafNodeText": "out of scope",
  "LeafNodeLabels": [], "State": "failed"}
]}]`

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSummary(t *testing.T) {
	rep := write(t, "report.json", report)
	skips := write(t, "skips.tsv", "# comment\n\n[sig-node] Pods needs apparmor [NodeConformance]\tno AppArmor here\n")
	var out strings.Builder
	code, err := run(&out, rep, skips, "node-conformance", []string{"NodeConformance"}, []string{"Serial"})
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1 (a spec in scope failed)", code)
	}
	got := out.String()
	for _, want := range []string{
		"skipped\t[sig-node] Pods needs apparmor [NodeConformance]\tno AppArmor here\n",
		"skipped\t[sig-node] Pods serial [NodeConformance] [Serial]\tlabel Serial\n",
		"skipped\t[sig-node] Pods skips itself [NodeConformance]\tskipped by the spec: Only supported for cgroup v2\n",
		"failed\t[sig-node] Pods should fail [NodeConformance]\ttimed out\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "out of scope") {
		t.Errorf("a spec without the required label is listed:\n%s", got)
	}
	if !strings.HasSuffix(got, "node-conformance: 1 passed, 1 failed, 3 skipped\n") {
		t.Errorf("counts line wrong:\n%s", got)
	}
}

func TestSummaryAllPassed(t *testing.T) {
	rep := write(t, "report.json", `[{"SpecReports": [{"LeafNodeType": "It", "LeafNodeText": "a [NodeConformance]",
		"LeafNodeLabels": ["NodeConformance"], "State": "passed"}]}]`)
	var out strings.Builder
	code, err := run(&out, rep, "", "x", []string{"NodeConformance"}, nil)
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v; want 0, nil:\n%s", code, err, out.String())
	}
}

func TestSummarySetupFailure(t *testing.T) {
	rep := write(t, "report.json", `[{"SpecReports": [
		{"LeafNodeType": "SynchronizedBeforeSuite", "State": "failed", "Failure": {"Message": "system validation"}},
		{"LeafNodeType": "It", "LeafNodeText": "a [NodeConformance]", "LeafNodeLabels": ["NodeConformance"], "State": "skipped"}]}]`)
	var out strings.Builder
	code, err := run(&out, rep, "", "x", []string{"NodeConformance"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || !strings.Contains(out.String(), "suite set-up failed: SynchronizedBeforeSuite: system validation") {
		t.Errorf("code %d, want 1 and the set-up failure named:\n%s", code, out.String())
	}
}

func TestSummaryBadSkipLine(t *testing.T) {
	rep := write(t, "report.json", `[]`)
	skips := write(t, "skips.tsv", "no tab here\n")
	if _, err := run(&strings.Builder{}, rep, skips, "x", nil, nil); err == nil {
		t.Error("a skip line without a reason was accepted")
	}
}
