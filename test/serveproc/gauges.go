package serveproc

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Gauges are the server's view of itself, from its /metrics
// (--metrics-bind-addr): the process collector's and the Go runtime's.
type Gauges struct {
	RSS        float64 // bytes
	OpenFiles  float64
	Goroutines float64
}

func (g Gauges) String() string {
	return fmt.Sprintf("RSS %.1f MiB, open files %.0f, goroutines %.0f", g.RSS/(1<<20), g.OpenFiles, g.Goroutines)
}

// ReadGauges scrapes the metrics listener at addr (host:port).
func ReadGauges(addr string) (Gauges, error) {
	var g Gauges
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return g, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "process_resident_memory_bytes":
			g.RSS = v
		case "process_open_fds":
			g.OpenFiles = v
		case "go_goroutines":
			g.Goroutines = v
		}
	}
	return g, sc.Err()
}
