package crifuzz

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Markdown renders the report's counts.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d requests (%d mutated) in %s; %d sandboxes, %d containers created (%d started)\n\n",
		r.Seed, r.Requests, r.Mutated, r.Duration.Round(time.Second), r.SandboxesCreated, r.ContainersCreated, r.ContainersStarted)
	codesSeen := make([]string, 0, len(r.ByCode))
	for c := range r.ByCode {
		codesSeen = append(codesSeen, c)
	}
	sort.Strings(codesSeen)
	b.WriteString("| code | count |\n|---|---|\n")
	for _, c := range codesSeen {
		fmt.Fprintf(&b, "| %s | %d |\n", c, r.ByCode[c])
	}
	fmt.Fprintf(&b, "\nfailures (crash/hang/Unknown): %d\n", len(r.Failures))
	for _, fl := range r.Failures {
		fmt.Fprintf(&b, "- %s in %s: %s\n", fl.Kind, fl.RPC, fl.Err)
	}
	fmt.Fprintf(&b, "\nslow calls: %d\n", len(r.Slow))
	for _, sc := range r.Slow {
		fmt.Fprintf(&b, "- %s %s (%s): %.300s\n", sc.RPC, sc.Took.Round(time.Millisecond), sc.Code, sc.Request)
	}
	return b.String()
}

// RPCTable renders the per-method counts.
func (r *Report) RPCTable() string {
	var b strings.Builder
	names := make([]string, 0, len(r.ByRPC))
	for n := range r.ByRPC {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var parts []string
		for c, k := range r.ByRPC[n] {
			parts = append(parts, fmt.Sprintf("%s=%d", c, k))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "%s: %s\n", n, strings.Join(parts, " "))
	}
	return b.String()
}
