package pod

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ProbeTarget is where a probe or hook runs.
type ProbeTarget struct {
	ContainerID string
	Container   *corev1.Container
	Host        string // the pod IP, or 127.0.0.1 for host-network pods
}

// Handler runs probe and hook actions. The supervisor's default talks to
// the CRI and the network; tests replace it.
type Handler interface {
	// Probe runs p's action once; ok false with a message on failure.
	Probe(ctx context.Context, t ProbeTarget, p *corev1.Probe, timeout time.Duration) (ok bool, msg string)
	// Hook runs a lifecycle handler; an error says why it failed.
	Hook(ctx context.Context, t ProbeTarget, h *corev1.LifecycleHandler, timeout time.Duration) error
}

// netHandler is the real Handler: exec through the CRI's ExecSync, httpGet,
// tcpSocket and grpc dialled at the pod IP.
type netHandler struct{ rt Runtime }

// NewHandler returns the Handler that probes through rt and the network.
func NewHandler(rt Runtime) Handler { return netHandler{rt: rt} }

func (h netHandler) Probe(ctx context.Context, t ProbeTarget, p *corev1.Probe, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch {
	case p.Exec != nil:
		err = h.exec(ctx, t, p.Exec.Command, timeout)
	case p.HTTPGet != nil:
		err = httpGet(ctx, t, p.HTTPGet)
	case p.TCPSocket != nil:
		err = tcpDial(ctx, t, p.TCPSocket)
	case p.GRPC != nil:
		err = grpcHealth(ctx, t, p.GRPC)
	default:
		err = fmt.Errorf("probe has no action")
	}
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

func (h netHandler) Hook(ctx context.Context, t ProbeTarget, lh *corev1.LifecycleHandler, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case lh.Exec != nil:
		return h.exec(ctx, t, lh.Exec.Command, timeout)
	case lh.HTTPGet != nil:
		return httpGet(ctx, t, lh.HTTPGet)
	case lh.Sleep != nil:
		select {
		case <-time.After(time.Duration(lh.Sleep.Seconds) * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("lifecycle handler has no action (exec, httpGet)")
}

func (h netHandler) exec(ctx context.Context, t ProbeTarget, cmd []string, timeout time.Duration) error {
	if len(cmd) == 0 {
		return fmt.Errorf("exec: empty command")
	}
	secs := int64(timeout / time.Second)
	if secs < 1 {
		secs = 1
	}
	resp, err := h.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: t.ContainerID, Cmd: cmd, Timeout: secs})
	if err != nil {
		return fmt.Errorf("exec %q: %w", cmd, err)
	}
	if resp.ExitCode != 0 {
		out := strings.TrimSpace(string(resp.Stdout) + string(resp.Stderr))
		if len(out) > 256 {
			out = out[:256] + "…"
		}
		return fmt.Errorf("exec %q: exit code %d: %s", cmd, resp.ExitCode, out)
	}
	return nil
}

// resolvePort turns a number or a named container port into a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("port %d out of range", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return resolvePort(intstr.FromInt32(int32(n)), c)
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}

func httpGet(ctx context.Context, t ProbeTarget, g *corev1.HTTPGetAction) error {
	port, err := resolvePort(g.Port, t.Container)
	if err != nil {
		return err
	}
	host := g.Host
	if host == "" {
		host = t.Host
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	full := u.String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "dockerlet-probe")
	for _, hh := range g.HTTPHeaders {
		if strings.EqualFold(hh.Name, "Host") {
			req.Host = hh.Value
			continue
		}
		req.Header.Add(hh.Name, hh.Value)
	}
	client := &http.Client{
		// The kubelet does not verify probe certificates.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true, Proxy: nil},
		// Redirects to other hosts are not followed, as in the kubelet.
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Hostname() != u.Hostname() || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", full, err)
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: HTTP %d", full, resp.StatusCode)
	}
	return nil
}

func tcpDial(ctx context.Context, t ProbeTarget, s *corev1.TCPSocketAction) error {
	port, err := resolvePort(s.Port, t.Container)
	if err != nil {
		return err
	}
	host := s.Host
	if host == "" {
		host = t.Host
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

func grpcHealth(ctx context.Context, t ProbeTarget, g *corev1.GRPCAction) error {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("grpc %s: %w", addr, err)
	}
	defer conn.Close()
	svc := ""
	if g.Service != nil {
		svc = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		return fmt.Errorf("grpc health %s: %w", addr, err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health %s: %s", addr, resp.Status)
	}
	return nil
}
