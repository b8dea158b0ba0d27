// Command nginx stands in for nginx in the node e2e suite's nginx image:
// what the specs look at is a long-running process named nginx whose PID
// is in /var/run/nginx.pid, serving /usr/share/nginx/html on port 80, and
// stopping on SIGQUIT (the image's stop signal), SIGTERM or SIGINT. Its
// arguments ("-g 'daemon off;'") are accepted and ignored.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

const (
	pidFile = "/var/run/nginx.pid"
	root    = "/usr/share/nginx/html"
	addr    = ":80"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nginx:", err)
		os.Exit(1)
	}
}

func run() error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	srv := &http.Server{Handler: http.FileServer(http.Dir(root))}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-stop:
		return srv.Close()
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
