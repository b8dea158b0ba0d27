package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
)

// execURL is the kubelet's exec endpoint with the query the API server
// sends it.
func (n *Node) execURL(pod, container string, cmd []string, stdin bool) *url.URL {
	q := url.Values{"command": cmd, "output": {"1"}, "error": {"1"}}
	if stdin {
		q.Set("input", "1")
	}
	u, _ := url.Parse(n.restConfig().Host + "/exec/" + namespace + "/" + n.fullName(pod) + "/" + container + "?" + q.Encode())
	return u
}

// exec runs cmd through the kubelet's /exec, over SPDY or WebSocket (what
// kubectl exec uses since 1.30), with stdin when given.
func (n *Node) exec(ctx context.Context, websocket bool, pod, container string, stdin io.Reader, cmd ...string) (string, string, error) {
	u := n.execURL(pod, container, cmd, stdin != nil)
	var ex remotecommand.Executor
	var err error
	if websocket {
		ex, err = remotecommand.NewWebSocketExecutor(n.restConfig(), "GET", u.String())
	} else {
		ex, err = remotecommand.NewSPDYExecutor(n.restConfig(), "POST", u)
	}
	if err != nil {
		return "", "", err
	}
	var stdout, stderr bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Stderr: &stderr})
	return stdout.String(), stderr.String(), err
}

// Exec through the kubelet on both protocols: separate streams, stdin, and
// a non-zero exit status surfacing as an exit code; and /run.
func testExec(t *testing.T, n *Node) {
	p := newPod("dlnode-exec", v1.RestartPolicyAlways, busybox("c", "exec sleep 3600"))
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ws := range []bool{false, true} {
		proto := map[bool]string{false: "spdy", true: "websocket"}[ws]
		out, errOut, err := n.exec(ctx, ws, p.Name, "c", nil, "sh", "-c", "echo out; echo err >&2")
		if err != nil || out != "out\n" || errOut != "err\n" {
			t.Errorf("%s exec: stdout %q stderr %q err %v", proto, out, errOut, err)
		}
		out, _, err = n.exec(ctx, ws, p.Name, "c", strings.NewReader("piped-"+proto+"\n"), "cat")
		if err != nil || out != "piped-"+proto+"\n" {
			t.Errorf("%s exec with stdin: %q, %v", proto, out, err)
		}
		_, _, err = n.exec(ctx, ws, p.Name, "c", nil, "sh", "-c", "exit 7")
		var code interface{ ExitStatus() int }
		if !asExit(err, &code) || code.ExitStatus() != 7 {
			t.Errorf("%s exec exit 7: %v", proto, err)
		}
	}
	out, err := n.run(ctx, p.Name, "c", "echo via-run")
	if err != nil || out != "via-run\n" {
		t.Errorf("/run: %q, %v", out, err)
	}
}

func asExit(err error, target *interface{ ExitStatus() int }) bool {
	for err != nil {
		if e, ok := err.(interface{ ExitStatus() int }); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// portForward forwards a local port to the pod's port through the
// kubelet's /portForward, over SPDY or SPDY tunnelled in WebSocket.
func (n *Node) portForward(t *testing.T, websocket bool, pod string, port int) (local int) {
	t.Helper()
	u, _ := url.Parse(n.restConfig().Host + "/portForward/" + namespace + "/" + n.fullName(pod))
	var dialer httpstream.Dialer
	if websocket {
		d, err := portforward.NewSPDYOverWebsocketDialer(u, n.restConfig())
		if err != nil {
			t.Fatal(err)
		}
		dialer = d
	} else {
		rt, upgrader, err := spdy.RoundTripperFor(n.restConfig())
		if err != nil {
			t.Fatal(err)
		}
		dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u)
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut bytes.Buffer
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	var fwErr error
	done := make(chan struct{})
	go func() { fwErr = fw.ForwardPorts(); close(done) }()
	t.Cleanup(func() { close(stop); <-done })
	select {
	case <-ready:
	case <-done:
		t.Fatalf("port-forward ended before ready: %v (%s)", fwErr, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward not ready in 30s")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports: %v, %v", ports, err)
	}
	return int(ports[0].Local)
}

// Port-forward through the kubelet reaches a server listening in the pod,
// on both protocols, for several requests over one forward.
func testPortForward(t *testing.T, n *Node) {
	// Ready only once httpd listens: a started container's shell may not
	// have reached httpd yet (Docker 29 reports the start sooner than 20.10
	// did, and a forward before the listen is refused, as on any runtime).
	web := httpd("web", 8082)
	web.ReadinessProbe = tcpProbe(8082)
	p := newPod("dlnode-portfwd", v1.RestartPolicyAlways, web)
	n.addPod(t, p)
	n.waitPod(t, p.Name, 2*time.Minute, podReady)
	for _, ws := range []bool{false, true} {
		proto := map[bool]string{false: "spdy", true: "websocket"}[ws]
		if ws && n.KubeletMinor < 36 {
			// Before 1.36 (ExtendWebSocketsToKubelet) the API server turned
			// kubectl's WebSocket into SPDY; the kubelet took SPDY only.
			t.Logf("kubelet 1.%d: no WebSocket port-forward at the kubelet; SPDY only", n.KubeletMinor)
			continue
		}
		local := n.portForward(t, ws, p.Name, 8082)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := range 3 {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", local))
			if err != nil {
				t.Fatalf("%s port-forward request %d: %v", proto, i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "hello-from-web\n" {
				t.Errorf("%s port-forward request %d: %q", proto, i, body)
			}
		}
	}
}
