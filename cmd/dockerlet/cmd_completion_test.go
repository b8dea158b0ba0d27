package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// complete runs bash with the completion script and returns what it
// completes the command line words to (the last word is the one being
// completed).
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	var q []string
	for _, w := range words {
		q = append(q, "'"+w+"'")
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c",
		`source "$1"; COMP_WORDS=(`+strings.Join(q, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _dockerlet; printf '%s\n' "${COMPREPLY[@]}"`,
		"bash", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, errOut, code := dockerlet(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	script := filepath.Join(t.TempDir(), "dockerlet.bash")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string
		want  string
		not   string
	}{
		{[]string{"dockerlet", "se"}, "serve", "ps"},
		{[]string{"dockerlet", "serve", "--container-r"}, "--container-runtime-endpoint", "--secret"},
		{[]string{"dockerlet", "serve", "--log-level", "debug", "--adopt"}, "--adopt-cri-dockerd", ""},
		{[]string{"dockerlet", "pull", "-"}, "--secret", "--network-plugin"},
		{[]string{"dockerlet", "completion", "f"}, "fish", "bash"},
		{[]string{"dockerlet", "help", "pu"}, "pull", "serve"},
	} {
		got := complete(t, script, tc.words...)
		if !contains(got, tc.want) || (tc.not != "" && contains(got, tc.not)) {
			t.Errorf("%q: completes to %q, want %q and not %q", tc.words, got, tc.want, tc.not)
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// zsh and fish are made from the same table: every command and flag is in
// each script, and a bad shell is a usage error.
func TestCompletionOtherShells(t *testing.T) {
	zsh, _, code := dockerlet(t, "completion", "zsh")
	if code != 0 || !strings.Contains(zsh, "#compdef dockerlet") || !strings.Contains(zsh, "'--container-runtime-endpoint[") || !strings.Contains(zsh, "{-q,--quiet}") {
		t.Errorf("zsh (exit %d):\n%s", code, zsh)
	}
	fish, _, code := dockerlet(t, "completion", "fish")
	if code != 0 || !strings.Contains(fish, "-l container-runtime-endpoint -r") || !strings.Contains(fish, "-l quiet -s q -d") {
		t.Errorf("fish (exit %d):\n%s", code, fish)
	}
	// Where the shells are installed: the scripts parse, and fish
	// completes from its script.
	dir := t.TempDir()
	if _, err := exec.LookPath("zsh"); err == nil {
		path := filepath.Join(dir, "_dockerlet")
		if err := os.WriteFile(path, []byte(zsh), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("zsh", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("fish"); err == nil {
		path := filepath.Join(dir, "dockerlet.fish")
		if err := os.WriteFile(path, []byte(fish), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("fish", "--no-config", "-c", `source $argv[1]; complete -C "dockerlet serve --container-r"; complete -C "dockerlet exec -"`, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--container-runtime-endpoint\t") || !strings.Contains(string(out), "-i\t") {
			t.Errorf("fish: %v\n%s", err, out)
		}
	}
	if _, errOut, code := dockerlet(t, "completion", "tcsh"); code != 1 || !strings.Contains(errOut, "want bash, zsh or fish") {
		t.Errorf("tcsh: exit %d: %s", code, errOut)
	}
	if _, _, code := dockerlet(t, "completion"); code != 2 {
		t.Errorf("no shell: exit %d, want 2", code)
	}
}
