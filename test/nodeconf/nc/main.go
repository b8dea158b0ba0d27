// Command nc stands in for the nc of the agnhost image (Alpine's busybox,
// built with UDP), which Debian's busybox-static lacks: its nc has no -u.
// The node e2e suite uses it from a host-network pod to reach a pod's
// netexec server:
//
//	echo hostName | nc -w 1 -u 10.0.0.5 8081
//	echo hostName | nc -v -t -w 2 10.0.0.5 8080
//
// It sends its standard input to HOST:PORT (over UDP with -u, one datagram
// per read; TCP otherwise, then closes its writing side) and prints what
// comes back, until the peer closes the connection or, with -w SEC, SEC
// seconds pass without an answer; -w also bounds the connect. -v says on
// standard error that it connected. Exits 1 when it cannot connect.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

type options struct {
	udp     bool
	verbose bool
	wait    time.Duration // 0: no limit
	addr    string
}

func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("nc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.udp, "u", false, "UDP")
	tcp := fs.Bool("t", false, "TCP (the default)")
	fs.BoolVar(&o.verbose, "v", false, "say when connected")
	wait := fs.Int("w", 0, "seconds: connect timeout and the wait for an answer")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.udp && *tcp {
		return o, errors.New("-u and -t together")
	}
	if *wait < 0 {
		return o, errors.New("-w must not be negative")
	}
	if fs.NArg() != 2 {
		return o, errors.New("want HOST PORT")
	}
	port, err := strconv.ParseUint(fs.Arg(1), 10, 16)
	if err != nil || port == 0 {
		return o, fmt.Errorf("bad port %q", fs.Arg(1))
	}
	o.wait = time.Duration(*wait) * time.Second
	o.addr = net.JoinHostPort(fs.Arg(0), fs.Arg(1))
	return o, nil
}

// run connects, sends in and copies the answers to out.
func run(o options, in io.Reader, out, errw io.Writer) error {
	network := "tcp"
	if o.udp {
		network = "udp"
	}
	conn, err := net.DialTimeout(network, o.addr, o.wait)
	if err != nil {
		return err
	}
	defer conn.Close()
	if o.verbose {
		fmt.Fprintf(errw, "%s (%s) open\n", o.addr, network)
	}
	go func() {
		_, _ = io.Copy(conn, in)
		if c, ok := conn.(*net.TCPConn); ok {
			_ = c.CloseWrite()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		if o.wait > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(o.wait))
		}
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return nil // the reader is gone
			}
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.As(err, &ne) && ne.Timeout():
			return nil
		case o.udp && errors.Is(err, syscall.ECONNREFUSED):
			return nil // nothing listens: like busybox, print nothing
		default:
			return err
		}
	}
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nc:", err)
		os.Stderr.WriteString("usage: nc [-u|-t] [-v] [-w SEC] HOST PORT\n")
		os.Exit(2)
	}
	if err := run(o, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "nc:", err)
		os.Exit(1)
	}
}
