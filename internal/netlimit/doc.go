// Package netlimit bounds what a listener may cost the process, so that a
// flood of connections on one of dockerlet's listeners (streaming,
// metrics, pprof, or the CRI socket itself) can neither exhaust its memory
// nor its open files — and with them every other listener, the CRI socket
// included (an accept that fails for want of a file descriptor fails for
// every client).
//
// Every listener gets a connection cap: a connection above it is closed as
// soon as it is accepted, so it holds a file descriptor only for that
// moment. HTTP listeners also get timeouts: to a request's headers and
// between requests (so idle connections go), and for reading a request and
// writing a response. The caps of all listeners together stay well below
// the process's open-file limit (OpenFiles, Share).
package netlimit
