package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this package's main as the dockerlet command:
// the test binary re-executed with DOCKERLET_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("DOCKERLET_TEST_MAIN") == "1" {
		os.Args = append([]string{"dockerlet"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// dockerlet runs the command line in a process of its own, without Docker
// (DOCKER_HOST points nowhere), and returns stdout, stderr and the status.
func dockerlet(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DOCKERLET_TEST_MAIN=1", "DOCKER_HOST=unix:///nonexistent/docker.sock")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     []string // each must appear
		notStdout  []string // none may appear
		stderr     []string
		emptyOther bool // nothing on the other stream
	}{
		// Offline: no engine is asked.
		{args: []string{"--version"}, stdout: []string{"dockerlet: "}},
		{args: []string{"-version"}, stdout: []string{"dockerlet: "}},
		{args: []string{"--help"}, stdout: []string{"usage: dockerlet COMMAND", "serve", "version"}},
		{args: []string{"help"}, stdout: []string{"usage: dockerlet COMMAND"}},
		// A command's help is its own flags, and only those.
		{args: []string{"help", "serve"}, stdout: []string{"usage: dockerlet serve", "-container-runtime-endpoint", "-network-plugin"}, notStdout: []string{"commands:", "-secret"}},
		{args: []string{"serve", "--help"}, stdout: []string{"usage: dockerlet serve", "-pod-infra-container-image"}},
		{args: []string{"pull", "-h"}, stdout: []string{"usage: dockerlet pull [flags] IMAGE", "-secret"}, notStdout: []string{"-network-plugin"}},
		{args: []string{"ps", "--help"}, stdout: []string{"usage: dockerlet ps", "-name-prefix"}},
		{args: []string{"version", "--help"}, stdout: []string{"usage: dockerlet version", "-docker-endpoint"}},
		// Usage errors: status 2, said once on stderr.
		{args: nil, code: 2, stderr: []string{"usage: dockerlet COMMAND"}},
		{args: []string{"nope"}, code: 2, stderr: []string{`unknown command "nope"`}},
		{args: []string{"help", "nope"}, code: 2, stderr: []string{`unknown command "nope"`}},
		{args: []string{"serve", "--bogus"}, code: 2, stderr: []string{"unknown flag: --bogus", "dockerlet help serve"}},
		{args: []string{"pull"}, code: 1, stderr: []string{"want exactly one IMAGE"}},
		// POSIX spellings: -q is --quiet; --flag=value; help is 0.
		{args: []string{"help", "pull"}, stdout: []string{"-q, --quiet"}},
		{args: []string{"serve", "--log-level=loud", "--docker-endpoint=fake://"}, code: 1, stderr: []string{`--log-level "loud"`}},
	} {
		out, errOut, code := dockerlet(t, tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errOut)
			continue
		}
		for _, s := range tc.stdout {
			if !strings.Contains(out, s) {
				t.Errorf("%q: stdout lacks %q:\n%s", tc.args, s, out)
			}
		}
		for _, s := range tc.notStdout {
			if strings.Contains(out, s) {
				t.Errorf("%q: stdout has %q:\n%s", tc.args, s, out)
			}
		}
		for _, s := range tc.stderr {
			if !strings.Contains(errOut, s) {
				t.Errorf("%q: stderr lacks %q:\n%s", tc.args, s, errOut)
			}
		}
		if n := strings.Count(errOut, "unknown flag"); n > 1 {
			t.Errorf("%q: the flag error said %d times:\n%s", tc.args, n, errOut)
		}
	}
}

// Play's commands (absent from the noplay build) answer --help the same way.
func TestPlayCommandsHelp(t *testing.T) {
	if _, ok := commands["play"]; !ok {
		t.Skip("built without play")
	}
	for _, name := range []string{"play", "get", "describe", "logs", "exec", "down", "supervise"} {
		out, errOut, code := dockerlet(t, "help", name)
		if code != 0 || !strings.Contains(out, "usage: dockerlet "+name) || !strings.Contains(out, "-state-dir") {
			t.Errorf("help %s: exit %d\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
	}
	if out, _, _ := dockerlet(t, "help", "exec"); !strings.Contains(out, "-i, --stdin") || !strings.Contains(out, "-t, --tty") {
		t.Errorf("exec has no -i, -t:\n%s", out)
	}
}
