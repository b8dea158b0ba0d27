// Command report reads scripts/bench.sh's results (bin/bench/<mode>/) and
// writes the report: the bars with their verdicts, figures against pods
// with the slope per added pod, dockerlet beside the peer runtime with
// ratios, and SVG plots of them.
//
//	go run ./test/bench/report -dir bin/bench -out bin/bench/report
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "bin/bench", "scripts/bench.sh's results, one directory per mode")
	out := flag.String("out", "", "where report.md and the plots go (default: -dir)")
	flag.BoolVar(&alsoPNG, "png", false, "also write each plot as PNG")
	flag.Parse()
	if *out == "" {
		*out = *dir
	}
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "## Bench report\n\nWritten by `test/bench/report` from `scripts/bench.sh`'s results.\n")
	found := 0
	for _, name := range []string{"cni", "docker"} {
		if _, err := os.Stat(filepath.Join(dir, name, "dockerlet.json")); err != nil {
			continue
		}
		m, err := loadMode(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		found++
		writeMode(&md, m)
		files, err := plotMode(out, m)
		if err != nil {
			return fmt.Errorf("plots of %s mode: %w", name, err)
		}
		if len(files) > 0 {
			fmt.Fprintf(&md, "\n")
			for _, f := range files {
				fmt.Fprintf(&md, "![%s](%s)\n", f, f)
			}
		}
	}
	if found == 0 {
		return fmt.Errorf("no results in %s (want %s/<mode>/dockerlet.json)", dir, dir)
	}
	path := filepath.Join(out, "report.md")
	if err := os.WriteFile(path, md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	fmt.Fprintf(os.Stderr, "report: %s\n", path)
	return nil
}
