package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestStatusErrorKinds(t *testing.T) {
	tests := []struct {
		code int
		body string
		kind error // after classify; nil: unclassified
		msg  string
	}{
		{404, `{"message":"No such container: x"}`, errdefs.ErrNotFound, "No such container: x"},
		{409, `{"message":"busy"}`, errdefs.ErrConflict, "busy"},
		{400, `{"message":"bad since"}`, errdefs.ErrInvalidArgument, "bad since"},
		{503, `{"message":"shutting down"}`, errdefs.ErrUnavailable, "shutting down"},
		{500, `{"message":"boom"}`, errdefs.ErrInternal, "boom"},
		{502, "not json", nil, "not json"},
	}
	for _, tt := range tests {
		err := classify("logs", statusError(tt.code, []byte(tt.body)))
		if kindOfErr(err) != tt.kind {
			t.Errorf("%d: kind %v, want %v (%v)", tt.code, kindOfErr(err), tt.kind, err)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%d: %q lacks %q", tt.code, err, tt.msg)
		}
	}
	if errors.Is(classify("logs", statusError(500, nil)), errdefs.ErrNotFound) {
		t.Error("a 500 classified as not found")
	}
}

func TestUnixSeconds(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, "1700000000": true, "1700000000.000000001": true,
		"2024-01-01T00:00:00Z": false, "10m": false, ".5": false, "1.5s": false,
	} {
		if got := unixSeconds(s); got != want {
			t.Errorf("unixSeconds(%q) = %v, want %v", s, got, want)
		}
	}
}
