package streaming

import (
	"context"
	"io"
	"net/http"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		mux.HandleFunc(m+" /exec/{token}", s.serveExec)
		mux.HandleFunc(m+" /attach/{token}", s.serveAttach)
		mux.HandleFunc(m+" /portforward/{token}", s.servePortForward)
	}
	mux.HandleFunc("/", notFound)
	return mux
}

// consume redeems the URL's token. Unknown, used and expired tokens all
// answer 404, as the kubelet's streaming server does.
func consume[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, bool) {
	var zero T
	req, ok := s.tokens.consume(r.PathValue("token"))
	if !ok {
		notFound(w, r)
		return zero, false
	}
	typed, ok := req.(T)
	if !ok {
		notFound(w, r)
		return zero, false
	}
	return typed, true
}

// notFound answers 404 and closes the connection: a client without a
// valid URL has no business keeping one open.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	http.NotFound(w, r)
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	req, ok := consume[*runtimeapi.ExecRequest](s, w, r)
	if !ok {
		return
	}
	opts := &remotecommand.Options{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, TTY: req.Tty}
	s.log.Debug("exec session", "container", req.ContainerId, "tty", req.Tty, "websocket", wsstream.IsWebSocketRequest(r))
	// A client that disconnects ends the session, and the exec with it.
	w, r, cancel := watchDisconnect(w, r)
	defer cancel()
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		s.serveWebSocketV5(w, r, opts, func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, resize <-chan remotecommand.TerminalSize) error {
			return s.rt.Exec(ctx, req.ContainerId, req.Cmd, in, out, errw, req.Tty, resize)
		})
		return
	}
	remotecommand.ServeExec(w, r, adapter{s}, "", "", req.ContainerId, req.Cmd, opts,
		s.cfg.IdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	req, ok := consume[*runtimeapi.AttachRequest](s, w, r)
	if !ok {
		return
	}
	opts := &remotecommand.Options{Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr, TTY: req.Tty}
	s.log.Debug("attach session", "container", req.ContainerId, "tty", req.Tty, "websocket", wsstream.IsWebSocketRequest(r))
	w, r, cancel := watchDisconnect(w, r)
	defer cancel()
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		s.serveWebSocketV5(w, r, opts, func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, resize <-chan remotecommand.TerminalSize) error {
			return s.rt.Attach(ctx, req.ContainerId, in, out, errw, req.Tty, resize)
		})
		return
	}
	remotecommand.ServeAttach(w, r, adapter{s}, "", "", req.ContainerId, opts,
		s.cfg.IdleTimeout, s.cfg.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	req, ok := consume[*runtimeapi.PortForwardRequest](s, w, r)
	if !ok {
		return
	}
	s.log.Debug("port-forward session", "sandbox", req.PodSandboxId, "websocket", wsstream.IsWebSocketRequest(r))
	if wsstream.IsWebSocketRequestWithTunnelingProtocol(r) {
		// client-go's WebSocket port-forward tunnels SPDY inside the WebSocket.
		s.serveSPDYTunnel(w, r, req.PodSandboxId)
		return
	}
	opts := &portforward.V4Options{Ports: req.Port}
	if len(opts.Ports) == 0 && wsstream.IsWebSocketRequest(r) {
		// The legacy WebSocket protocol names its ports in the query.
		parsed, err := portforward.NewV4Options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		opts = parsed
	}
	portforward.ServePortForward(w, r, adapter{s}, req.PodSandboxId, "", opts,
		s.cfg.IdleTimeout, s.cfg.StreamCreationTimeout, portforward.SupportedProtocols)
}

// adapter presents the runtime to the library's protocol handlers, which
// pass the container id as "container" and the sandbox id as the pod name.
type adapter struct{ s *Server }

func (a adapter) ExecInContainer(ctx context.Context, _, _ string, containerID string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	// The error goes back unwrapped: the library recognises an exit code
	// only by a direct type assertion to utilexec.ExitError.
	return a.s.rt.Exec(ctx, containerID, cmd, in, out, errw, tty, resize)
}

func (a adapter) AttachContainer(ctx context.Context, _, _ string, containerID string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return a.s.rt.Attach(ctx, containerID, in, out, errw, tty, resize)
}

func (a adapter) PortForward(ctx context.Context, sandboxID, _ string, port int32, stream io.ReadWriteCloser) error {
	return a.s.rt.PortForward(ctx, sandboxID, port, stream)
}
