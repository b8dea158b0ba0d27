package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"not found", errdefs.ErrNotFound.WithMessage("No such container: x"), errdefs.ErrNotFound},
		{"conflict", errdefs.ErrConflict.WithMessage("name in use"), errdefs.ErrConflict},
		{"already exists", errdefs.ErrAlreadyExists, errdefs.ErrConflict},
		{"unauthorized", errdefs.ErrUnauthenticated, errdefs.ErrUnauthenticated},
		{"forbidden", errdefs.ErrPermissionDenied, errdefs.ErrUnauthenticated},
		{"invalid", errdefs.ErrInvalidArgument, errdefs.ErrInvalidArgument},
		{"not implemented", errdefs.ErrNotImplemented, errdefs.ErrNotImplemented},
		{"daemon unavailable", errdefs.ErrUnavailable, errdefs.ErrUnavailable},
		{"deadline", fmt.Errorf("request: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		{"already ours", fmt.Errorf("x: %w", errdefs.ErrConflict), errdefs.ErrConflict},
		{"canceled stays the caller's", context.Canceled, context.Canceled},
		{"unknown", errors.New("boom"), nil},
		{"20.10 network peer stopped", errdefs.ErrConflict.WithMessage("cannot join network of a non running container: 4f2a9c"), ErrCannotJoin},
		{"20.10 ipc not shareable", errors.New("Error response from daemon: can't join IPC of container 4f2a9c: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"), ErrCannotJoin},
		{"ipc peer stopped", errdefs.ErrConflict.WithMessage("can't join IPC of container 4f2a9c: Container 4f2a9c is not running"), ErrCannotJoin},
		{"pid peer stopped", errors.New("cannot join PID of a non running container: 4f2a9c"), ErrCannotJoin},
		{"29 network peer stopped", errdefs.ErrConflict.WithMessage("cannot join network namespace of a non running container: container k8s_POD_p is exited"), ErrCannotJoin},
		{"29 ipc peer stopped", errors.New("Error response from daemon: failed to join IPC namespace: container 4f2a9c is not running"), ErrCannotJoin},
		{"29 ipc not shareable", errdefs.ErrInvalidArgument.WithMessage("failed to join IPC namespace: container 4f2a9c: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"), ErrCannotJoin},
		{"29 pid peer stopped", errors.New("failed to join PID namespace: container 4f2a9c is not running"), ErrCannotJoin},
		{"20.10 memory limit below usage", errors.New("Error response from daemon: Cannot update container 4f2a9c: runc did not terminate successfully: exit status 1: unable to set memory limit to 8388608 (current usage: 30633984, peak usage: 60862464)\n: unknown"), errdefs.ErrConflict},
		{"20.10 bad reference", errors.New("Error response from daemon: invalid reference format: repository name must be lowercase"), errdefs.ErrInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("op", tc.err)
			if got := kindOfErr(err); got != tc.want {
				t.Fatalf("kind %v, want %v", got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("cause lost: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "op: ") {
				t.Fatalf("message %q lacks the operation", err.Error())
			}
		})
	}
	if classify("op", nil) != nil {
		t.Fatal("nil error classified as non-nil")
	}
}

func TestPullErrorClassification(t *testing.T) {
	html := `error parsing HTTP 503 response body: invalid character '<' looking for beginning of value: "<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>"`
	cases := []struct {
		name    string
		err     error
		want    error
		wantMsg string
	}{
		{"stream 503 code", streamError{code: 503, msg: "whatever"}, ErrRegistryUnavailable, "HTTP 503"},
		{"html 503 text", errors.New(html), ErrRegistryUnavailable, "HTTP 503 Service Unavailable"},
		{"bad gateway text", errors.New(`Get "http://r/v2/": received unexpected HTTP status: 502 Bad Gateway`), ErrRegistryUnavailable, "HTTP 502"},
		{"gateway timeout text", errors.New("Gateway Timeout"), ErrRegistryUnavailable, "HTTP 504"},
		{"unauthorized text", streamError{msg: "unauthorized: authentication required"}, errdefs.ErrUnauthenticated, "authentication required"},
		{"no basic auth", errors.New("Get http://r/v2/: no basic auth credentials"), errdefs.ErrUnauthenticated, "no basic auth"},
		{"unauthorized status", errdefs.ErrUnauthenticated.WithMessage("denied"), errdefs.ErrUnauthenticated, "denied"},
		{"manifest unknown", streamError{msg: "manifest for r/x:1 not found: manifest unknown: manifest unknown"}, errdefs.ErrNotFound, "manifest unknown"},
		{"not found status", errdefs.ErrNotFound.WithMessage("repository does not exist"), errdefs.ErrNotFound, "does not exist"},
		// Docker 29 answers 500 with the registry's error document.
		{"29 name unknown", errors.New(`Error response from daemon: unknown: {"errors":[{"code":"NAME_UNKNOWN","message":"Unknown name"}]}`), errdefs.ErrNotFound, "NAME_UNKNOWN"},
		{"29 containerd store 401", errdefs.ErrNotFound.WithMessage(`unknown: failed to resolve reference "r/x:1": unexpected status from HEAD request to http://r/v2/x/manifests/1: 401 Unauthorized`), errdefs.ErrUnauthenticated, "401 Unauthorized"},
		{"29 manifest unknown", errors.New(`unknown: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"Unknown manifest"}]}`), errdefs.ErrNotFound, "MANIFEST_UNKNOWN"},
		{"other", errors.New("disk full"), nil, "disk full"},
	}
	named, _ := reference.ParseNormalizedNamed("127.0.0.1:5999/busybox:1")
	c := &Client{log: Options{}.withDefaults().Logger}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.pullError(context.Background(), "pull image x", named, tc.err)
			if got := kindOfErr(err); got != tc.want {
				t.Fatalf("kind %v, want %v (%v)", got, tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("message %q lacks %q", err.Error(), tc.wantMsg)
			}
			if strings.Contains(err.Error(), "<html>") {
				t.Fatalf("message carries the HTML page: %q", err.Error())
			}
		})
	}
}

func TestPullErrorPrefersStall(t *testing.T) {
	stalled := &Error{Op: "pull image x", Kind: ErrPullStalled, Err: errors.New("no progress for 2s, cancelled")}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stalled)
	named, _ := reference.ParseNormalizedNamed("x")
	c := &Client{log: Options{}.withDefaults().Logger}
	err := c.pullError(ctx, "pull image x", named, context.Canceled)
	if !errors.Is(err, ErrPullStalled) {
		t.Fatalf("got %v, want ErrPullStalled", err)
	}
}

func TestConnectEndpoints(t *testing.T) {
	for _, ep := range []string{"unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"} {
		c, err := Connect(ep, Options{})
		if err != nil {
			t.Fatalf("%s: %v", ep, err)
		}
		c.Close()
	}
	for _, ep := range []string{"docker.sock", "ftp://x", "unix://"} {
		if _, err := Connect(ep, Options{}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want errdefs.ErrInvalidArgument", ep, err)
		}
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	t.Setenv("DOCKER_API_VERSION", "1.41")
	c, err := Connect("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Endpoint() != "tcp://127.0.0.1:1" {
		t.Fatalf("env endpoint %q", c.Endpoint())
	}
	if _, err := c.Version(context.Background()); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("closed port: %v, want errdefs.ErrUnavailable", err)
	}
}

func TestJoinPeer(t *testing.T) {
	cases := []struct {
		msg, want string
	}{
		{"Error response from daemon: cannot join network of a non running container: 4f2a9c0d", "4f2a9c0d"},
		{"can't join IPC of container 4f2a9c: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", "4f2a9c"},
		{"start container x: cannot join PID of a non running container: k8s_pause_p", "k8s_pause_p"},
		{"cannot join network of a non running container: ", ""},
		{"Error response from daemon: cannot join network namespace of a non running container: container k8s_POD_p_ns_uid_1 is created", "k8s_POD_p_ns_uid_1"},
		{"failed to join IPC namespace: container 4f2a9c: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", "4f2a9c"},
		{"failed to join PID namespace: container 4f2a9c0d is not running", "4f2a9c0d"},
		{"No such container: 4f2a9c", ""},
	}
	for _, tc := range cases {
		if got := JoinPeer(errors.New(tc.msg)); got != tc.want {
			t.Errorf("JoinPeer(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
	if JoinPeer(nil) != "" {
		t.Error("JoinPeer(nil) not empty")
	}
}

// kindOfErr is the kind the gRPC edge sees in err: errdefs.Resolve's, or
// the refinement (ErrCannotJoin, …) err carries; nil for none.
func kindOfErr(err error) error {
	for _, k := range []error{ErrCannotJoin, ErrPullStalled, ErrRegistryUnavailable} {
		if errors.Is(err, k) {
			return k
		}
	}
	if k := errdefs.Resolve(err); k != errdefs.ErrUnknown {
		return k
	}
	return nil
}
