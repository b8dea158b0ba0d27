package streaming

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dockerlet/dockerlet/internal/engine/fake"
)

func TestTokenCacheSingleUseAndExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTokenCache(time.Minute, func() time.Time { return now })

	a, err := c.insert("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.insert("b")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two inserts gave the same token %q", a)
	}
	if raw := len(a); raw < 40 {
		t.Errorf("token %q is too short to be unguessable", a)
	}
	if got, ok := c.consume(a); !ok || got != "a" {
		t.Fatalf("consume(a) = %v, %v; want a, true", got, ok)
	}
	if _, ok := c.consume(a); ok {
		t.Fatal("a token could be used twice")
	}
	if _, ok := c.consume("no-such-token"); ok {
		t.Fatal("an unknown token was accepted")
	}

	now = now.Add(time.Minute + time.Nanosecond)
	if _, ok := c.consume(b); ok {
		t.Fatal("an expired token was accepted")
	}

	// Exactly at the TTL a token is still valid.
	d, _ := c.insert("d")
	now = now.Add(time.Minute)
	if _, ok := c.consume(d); !ok {
		t.Fatal("a token was rejected at exactly its TTL")
	}
}

func TestTokenCacheBoundsInFlight(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTokenCache(time.Minute, func() time.Time { return now })
	for i := 0; i < maxInFlight; i++ {
		if _, err := c.insert(i); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if _, err := c.insert("one too many"); !errors.Is(err, ErrTooManyInFlight) {
		t.Fatalf("insert beyond the bound: err = %v, want ErrTooManyInFlight", err)
	}
	// Expired entries make room again.
	now = now.Add(2 * time.Minute)
	if _, err := c.insert("after expiry"); err != nil {
		t.Fatalf("insert after expiry: %v", err)
	}
}

func newTestServer(t *testing.T, cfg Config) (*Server, *fake.Fake) {
	t.Helper()
	eng := fake.New()
	s, err := New(eng, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, eng
}

func TestURLsAreAbsoluteAndBoundToLoopback(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	host, _, _ := net.SplitHostPort(s.Addr().String())
	if host != "127.0.0.1" {
		t.Fatalf("default bind host = %q, want 127.0.0.1", host)
	}

	exec, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"true"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	attach, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c", Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for kind, raw := range map[string]string{"exec": exec.Url, "attach": attach.Url, "portforward": pf.Url} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s URL %q: %v", kind, raw, err)
		}
		if !u.IsAbs() || u.Scheme != "http" || u.Host != s.Addr().String() {
			t.Errorf("%s URL %q is not absolute on the bound address %s", kind, raw, s.Addr())
		}
		if !strings.HasPrefix(u.Path, "/"+kind+"/") || len(u.Path) <= len(kind)+2 {
			t.Errorf("%s URL %q has no token path", kind, raw)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	tests := []struct {
		name     string
		override string
		addr     net.Addr
		want     string // "" = any absolute non-loopback-or-loopback http URL with the port
		wantErr  bool
	}{
		{name: "loopback", addr: tcp("127.0.0.1:1234"), want: "http://127.0.0.1:1234"},
		{name: "ipv6 loopback", addr: tcp("[::1]:1234"), want: "http://[::1]:1234"},
		{name: "override", override: "https://node.example:10010", addr: tcp("0.0.0.0:1"), want: "https://node.example:10010"},
		{name: "relative override", override: "/exec", addr: tcp("127.0.0.1:1"), wantErr: true},
		{name: "unspecified", addr: tcp("0.0.0.0:1234")},
		{name: "unspecified v6", addr: tcp("[::]:1234")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := baseURL(tt.override, tt.addr)
			if tt.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				if u.String() != tt.want {
					t.Fatalf("baseURL = %q, want %q", u, tt.want)
				}
				return
			}
			host, port, _ := net.SplitHostPort(u.Host)
			ip := net.ParseIP(host)
			if u.Scheme != "http" || port != "1234" || ip == nil || ip.IsUnspecified() {
				t.Fatalf("baseURL = %q: want a dialable host with port 1234", u)
			}
		})
	}
}

func TestGetRejectsBadRequests(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	tests := []struct {
		name string
		call func() error
	}{
		{"exec without container", func() error {
			_, err := s.GetExec(&runtimeapi.ExecRequest{Cmd: []string{"true"}, Stdout: true})
			return err
		}},
		{"exec without command", func() error {
			_, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Stdout: true})
			return err
		}},
		{"exec tty with stderr", func() error {
			_, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Tty: true, Stdout: true, Stderr: true})
			return err
		}},
		{"exec without streams", func() error {
			_, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"true"}})
			return err
		}},
		{"attach without streams", func() error {
			_, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c"})
			return err
		}},
		{"port-forward without sandbox", func() error {
			_, err := s.GetPortForward(&runtimeapi.PortForwardRequest{})
			return err
		}},
		{"port-forward bad port", func() error {
			_, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "p", Port: []int32{70000}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestURLTokenIsSingleUseOverHTTP(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"true"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	// The first request redeems the token (and fails the protocol upgrade,
	// being a plain POST); the second finds no token.
	first, err := http.Post(resp.Url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if first.StatusCode == http.StatusNotFound {
		t.Fatalf("first use answered 404")
	}
	second, err := http.Post(resp.Url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	second.Body.Close()
	if second.StatusCode != http.StatusNotFound {
		t.Fatalf("second use answered %d, want 404", second.StatusCode)
	}

	// A token of one kind does not open another.
	pf, _ := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "p"})
	u, _ := url.Parse(pf.Url)
	u.Path = strings.Replace(u.Path, "/portforward/", "/exec/", 1)
	wrong, err := http.Post(u.String(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	wrong.Body.Close()
	if wrong.StatusCode != http.StatusNotFound {
		t.Fatalf("port-forward token on /exec answered %d, want 404", wrong.StatusCode)
	}
}

func TestTokenExpiresOverHTTP(t *testing.T) {
	s, _ := newTestServer(t, Config{TokenTTL: 50 * time.Millisecond})
	resp, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"true"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	r, err := http.Post(resp.Url, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("expired token answered %d, want 404", r.StatusCode)
	}
}
