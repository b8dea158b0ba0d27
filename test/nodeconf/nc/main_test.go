package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The suite's node-to-pod UDP check: one line out, the server's answer
// printed, and nc ends -w after the last answer.
func TestUDPAnswer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		b := make([]byte, 100)
		n, from, err := pc.ReadFrom(b)
		if err == nil && string(b[:n]) == "hostName\n" {
			_, _ = pc.WriteTo([]byte("netserver-0"), from)
		}
	}()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	o, err := parseArgs([]string{"-w", "1", "-u", "127.0.0.1", port})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	if err := run(o, strings.NewReader("hostName\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "netserver-0" {
		t.Fatalf("printed %q, want the server's answer", out.String())
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("ended after %v, want about -w 1", d)
	}
}

// TCP: stdin sent, the writing side closed, the answer printed up to the
// server's close.
func TestTCPAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // until nc closes its side
		_, _ = c.Write([]byte("got " + string(b)))
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	o, err := parseArgs([]string{"-v", "-t", "-w", "2", "127.0.0.1", port})
	if err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	if err := run(o, strings.NewReader("hostName\n"), &out, &errw); err != nil {
		t.Fatal(err)
	}
	if out.String() != "got hostName\n" || !strings.Contains(errw.String(), "open") {
		t.Fatalf("printed %q, said %q", out.String(), errw.String())
	}
}

func TestArgs(t *testing.T) {
	for _, args := range [][]string{{}, {"127.0.0.1"}, {"-u", "-t", "h", "1"}, {"-w", "-1", "h", "1"}, {"h", "0"}, {"h", "x"}, {"-x", "h", "1"}} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
