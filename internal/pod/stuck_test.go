package pod

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStuck(t *testing.T) {
	pullFailed := func(n int) []Event {
		return []Event{{Reason: "Failed", Message: `Failed to pull image "r:5/a:1": Error response from daemon: refused`, Count: n}}
	}
	tests := []struct {
		name       string
		st         PodStatus
		wantReason string
	}{
		{"creating", PodStatus{Containers: []ContainerStatus{{Name: "c", State: StateWaiting, Reason: "ContainerCreating"}}}, ""},
		{"never pull", PodStatus{Containers: []ContainerStatus{{Name: "c", State: StateWaiting, Reason: "ErrImageNeverPull", Message: "not present"}}}, "ErrImageNeverPull"},
		{"first pull failure", PodStatus{Events: pullFailed(1), Containers: []ContainerStatus{{Name: "c", Image: "r:5/a:1", State: StateWaiting, Reason: "ImagePullBackOff"}}}, ""},
		{"retried pull failure", PodStatus{Events: pullFailed(2), Containers: []ContainerStatus{{Name: "c", Image: "r:5/a:1", State: StateWaiting, Reason: "ImagePullBackOff"}}}, "ErrImagePull"},
		{"sandbox once", PodStatus{Reason: "SandboxError", Events: []Event{{Reason: "FailedCreatePodSandBox", Count: 1}}}, ""},
		{"sandbox twice", PodStatus{Reason: "SandboxError", Message: "port is already allocated", Events: []Event{{Reason: "FailedCreatePodSandBox", Count: 2}}}, "SandboxError"},
		{"run error", PodStatus{InitContainers: []ContainerStatus{{Name: "i", State: StateWaiting, Reason: "RunContainerError"}}}, "RunContainerError"},
		{"crash loop", PodStatus{Containers: []ContainerStatus{{Name: "c", State: StateWaiting, Reason: "CrashLoopBackOff"}}}, ""},
	}
	for _, tt := range tests {
		reason, msg, ok := tt.st.Stuck()
		if reason != tt.wantReason || ok != (tt.wantReason != "") {
			t.Errorf("%s: Stuck() = %q, %q, %v; want %q", tt.name, reason, msg, ok, tt.wantReason)
		}
	}
	_, msg, _ := (&PodStatus{Events: pullFailed(3), Containers: []ContainerStatus{{Name: "c", Image: "r:5/a:1", State: StateWaiting, Reason: "ErrImagePull"}}}).Stuck()
	if msg != `container c: Failed to pull image "r:5/a:1": Error response from daemon: refused` {
		t.Errorf("message: %q", msg)
	}
}

func TestErrTextOnce(t *testing.T) {
	err := status.Error(codes.Internal, `pull r:5/a:1: pull r:5/a:1: pull image r:5/a:1: Error response from daemon: Get "http://r:5/v2/": connection refused`)
	got := errText(err, "r:5/a:1")
	if got != `Error response from daemon: Get "http://r:5/v2/": connection refused` {
		t.Fatalf("errText = %q", got)
	}
	if got := errText(errors.New("plain"), ""); got != "plain" {
		t.Fatalf("errText = %q", got)
	}
	if strings.Contains(errText(status.Error(codes.Unknown, "x"), ""), "rpc error") {
		t.Fatal("gRPC envelope kept")
	}
}
