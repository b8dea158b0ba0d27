package pod

import (
	"strings"

	"google.golang.org/grpc/status"
)

// errText is what a pod's status says of a runtime error: the engine's own
// message once, without the gRPC envelope of the in-process CRI call
// ("rpc error: code = … desc = …") and without the "pull <image>:"
// prefixes each layer adds (the reason and the event name the image).
func errText(err error, image string) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	if image == "" {
		return msg
	}
	for {
		trimmed := msg
		for _, p := range []string{"pull " + image + ": ", "pull image " + image + ": "} {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == msg {
			return msg
		}
		msg = trimmed
	}
}
