package pod

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// setNetnsRedirects refuses the host's own namespace: it never changes
// the host's rules.
func TestSetNetnsRedirectsRefusesHost(t *testing.T) {
	err := setNetnsRedirects(os.Getpid(), "10.0.0.1", []Redirect{{"TCP", 80, 8080}})
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("own namespace: %v, want FailedPrecondition", err)
	}
}

// In a network namespace of its own (a process of this test's in a new
// one), the table is written, replaced and removed.
func TestSetNetnsRedirects(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace, nftables)")
	}
	for _, tool := range []string{"unshare", "nsenter", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	cmd := exec.Command("unshare", "-n", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// unshare execs sleep in the new namespace: wait until it has.
	host, _ := os.Readlink("/proc/self/ns/net")
	for i := 0; ; i++ {
		ns, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net")
		if ns != "" && ns != host {
			break
		}
		if i > 100 {
			t.Fatal("the process did not enter a namespace of its own")
		}
		time.Sleep(20 * time.Millisecond)
	}
	list := func() string {
		out, _ := exec.Command("nsenter", "-t", strconv.Itoa(cmd.Process.Pid), "-n", "nft", "list", "ruleset").CombinedOutput()
		return string(out)
	}
	pid := cmd.Process.Pid
	if err := setNetnsRedirects(pid, "10.0.0.1", []Redirect{{"TCP", 80, 8080}, {"UDP", 53, 5353}}); err != nil {
		t.Fatal(err)
	}
	got := list()
	for _, want := range []string{"table ip dockerlet_services", "tcp dport 80 redirect to :8080", "udp dport 53 redirect to :5353", "ip daddr 10.0.0.1 tcp dport 80 redirect to :8080"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if err := setNetnsRedirects(pid, "10.0.0.1", []Redirect{{"TCP", 81, 9090}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); strings.Contains(got, "8080") || !strings.Contains(got, "tcp dport 81 redirect to :9090") {
		t.Errorf("replaced:\n%s", got)
	}
	if err := setNetnsRedirects(pid, "10.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	if got := list(); strings.Contains(got, "dockerlet_services") {
		t.Errorf("not removed:\n%s", got)
	}
	// Removing what is not there is no error.
	if err := setNetnsRedirects(pid, "10.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
}
