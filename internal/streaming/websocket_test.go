package streaming

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	utilexec "k8s.io/utils/exec"
)

func TestSessionStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"success", nil, `{"status":"Success"}`},
		{"exit code", utilexec.CodeExitError{Err: errors.New("exit 3"), Code: 3},
			`{"status":"Failure","message":"command terminated with non-zero exit code: exit 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`},
		{"wrapped exit code", fmt.Errorf("exec: %w", utilexec.CodeExitError{Err: errors.New("exit 7"), Code: 7}),
			`{"status":"Failure","message":"command terminated with non-zero exit code: exit 7","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}`},
		{"internal", errors.New("boom"),
			`{"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","code":500}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(sessionStatus(tt.err))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestWSConnFraming checks the tunnel's byte stream over WebSocket
// messages: reads span and split messages, each write is one binary
// message, a text message is an error and a normal close is EOF.
func TestWSConnFraming(t *testing.T) {
	serverConn := make(chan *wsConn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		serverConn <- &wsConn{ws: ws}
	}))
	defer srv.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-serverConn

	for _, m := range []string{"hello ", "", "world"} {
		if err := client.WriteMessage(websocket.BinaryMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4)
	var got strings.Builder
	for got.Len() < len("hello world") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got.Write(buf[:n])
	}
	if got.String() != "hello world" {
		t.Fatalf("read %q", got.String())
	}

	if _, err := c.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := client.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || string(msg) != "reply" {
		t.Fatalf("client read %d %q %v", typ, msg, err)
	}

	client.WriteMessage(websocket.TextMessage, []byte("text"))
	if _, err := c.Read(buf); err == nil {
		t.Fatal("a text message was accepted")
	}
}

func TestWSConnCloseIsEOF(t *testing.T) {
	serverConn := make(chan *wsConn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		serverConn <- &wsConn{ws: ws}
	}))
	defer srv.Close()
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := <-serverConn
	client.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after a normal close: %v, want io.EOF", err)
	}
	if err := c.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
