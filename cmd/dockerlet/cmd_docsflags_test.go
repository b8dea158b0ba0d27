package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// docs/flags.md is what docs-flags prints now: a flag added, renamed or
// re-described without regenerating it fails here.
func TestFlagsDocCurrent(t *testing.T) {
	if _, ok := commands["play"]; !ok {
		t.Skip("built without play: the reference covers every command")
	}
	for _, k := range flagsDocEnv {
		t.Setenv(k, "")
	}
	var b bytes.Buffer
	if err := writeFlagsDoc(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../docs/flags.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatal("docs/flags.md is stale: run go generate ./cmd/dockerlet")
	}
	for _, want := range []string{"## dockerlet serve", "`--container-runtime-endpoint`", "`-n`, `--namespace`", "## dockerlet completion"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("reference lacks %q", want)
		}
	}
	// Hidden flags and commands stay out.
	for _, not := range []string{"`--running`", "`--it`", "## dockerlet docs-flags"} {
		if strings.Contains(b.String(), not) {
			t.Errorf("reference shows %q", not)
		}
	}
}
