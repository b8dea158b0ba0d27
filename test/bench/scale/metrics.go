package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dockerOps reads the runtime's own count of Docker calls by operation
// (dockerlet's dockerlet_docker_operations_total) from its metrics URL;
// nil without one. Read at phase boundaries only: a scrape costs the
// runtime CPU, and the windows measure that.
func dockerOps(url string) map[string]float64 {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "dockerlet_docker_operations_total{")
		if !ok {
			continue
		}
		_, after, ok := strings.Cut(rest, `operation="`)
		if !ok {
			continue
		}
		op, after, ok := strings.Cut(after, `"`)
		if !ok {
			continue
		}
		_, val, ok := strings.Cut(after, "} ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[op] += v
		}
	}
	return out
}

// opsDelta is b-a per operation, divided by per (1 for a window's total);
// zero rows are left out.
func opsDelta(a, b map[string]float64, per int) map[string]float64 {
	if a == nil || b == nil || per <= 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d / float64(per)
		}
	}
	return out
}
