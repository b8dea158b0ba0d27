package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"
)

// k8s.io/cri-streaming v0.37 serves exec/attach over WebSocket only up to
// v4.channel.k8s.io, while client-go's WebSocket executor (kubectl,
// crictl, critest) asks for v5.channel.k8s.io alone. v5 is v4 plus a
// "close" signal for stdin, which wsstream implements; this file serves
// it with the same channel layout and status format as the library.

const v5ChannelProtocol = "v5.channel.k8s.io"

const (
	stdinChannel = iota
	stdoutChannel
	stderrChannel
	errorChannel
	resizeChannel
)

type sessionFunc func(ctx context.Context, in io.Reader, out, errw io.WriteCloser, resize <-chan remotecommand.TerminalSize) error

func (s *Server) serveWebSocketV5(w http.ResponseWriter, r *http.Request, opts *remotecommand.Options, run sessionFunc) {
	stderr := opts.Stderr && !opts.TTY
	channels := []wsstream.ChannelType{
		stdinChannel:  pick(opts.Stdin, wsstream.ReadChannel),
		stdoutChannel: pick(opts.Stdout, wsstream.WriteChannel),
		stderrChannel: pick(stderr, wsstream.WriteChannel),
		errorChannel:  wsstream.WriteChannel,
		resizeChannel: wsstream.ReadChannel,
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		v5ChannelProtocol: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(s.cfg.IdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		s.log.Warn("websocket upgrade failed", "err", err)
		return
	}
	defer conn.Close()

	// An empty frame on the first output channel tells the client the
	// session is up (as the library does for v4).
	switch {
	case opts.Stdout:
		_, _ = streams[stdoutChannel].Write(nil)
	case stderr:
		_, _ = streams[stderrChannel].Write(nil)
	default:
		_, _ = streams[errorChannel].Write(nil)
	}

	var (
		in        io.Reader
		out, errw io.WriteCloser
		resize    chan remotecommand.TerminalSize
	)
	if opts.Stdin {
		in = streams[stdinChannel]
	}
	if opts.Stdout {
		out = streams[stdoutChannel]
	}
	if stderr {
		errw = streams[stderrChannel]
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if opts.TTY {
		resize = make(chan remotecommand.TerminalSize)
		go decodeResizes(ctx, streams[resizeChannel], resize)
	}

	runErr := run(ctx, in, out, errw, resize)
	if runErr != nil {
		s.log.Debug("websocket session ended with error", "err", runErr)
	}
	status, _ := json.Marshal(sessionStatus(runErr))
	if _, err := streams[errorChannel].Write(status); err != nil {
		s.log.Debug("write session status", "err", err)
	}
}

func pick(on bool, t wsstream.ChannelType) wsstream.ChannelType {
	if on {
		return t
	}
	return wsstream.IgnoreChannel
}

// decodeResizes turns the client's JSON terminal sizes into resize events.
func decodeResizes(ctx context.Context, r io.Reader, ch chan<- remotecommand.TerminalSize) {
	defer close(ch)
	dec := json.NewDecoder(r)
	for {
		var size remotecommand.TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case ch <- size:
		case <-ctx.Done():
			return
		}
	}
}

// wsStatus is the metav1.Status subset the v4/v5 error channel carries.
type wsStatus struct {
	Status  string         `json:"status,omitempty"`
	Message string         `json:"message,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Details *statusDetails `json:"details,omitempty"`
	Code    int32          `json:"code,omitempty"`
}

type statusDetails struct {
	Causes []statusCause `json:"causes,omitempty"`
}

type statusCause struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// sessionStatus encodes a session's outcome: success, a non-zero exit
// code (which clients turn into their own exit code) or an internal error.
func sessionStatus(err error) wsStatus {
	if err == nil {
		return wsStatus{Status: "Success"}
	}
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return wsStatus{
			Status:  "Failure",
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", exitErr),
			Details: &statusDetails{Causes: []statusCause{{
				Reason:  remotecommand.ExitCodeCauseType,
				Message: fmt.Sprint(exitErr.ExitStatus()),
			}}},
		}
	}
	return wsStatus{
		Status:  "Failure",
		Reason:  "InternalError",
		Message: fmt.Sprintf("Internal error occurred: %v", err),
		Code:    http.StatusInternalServerError,
	}
}
