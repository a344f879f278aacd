package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
)

// `lab agent` serves a run over TLS with a token from `lab agent token`,
// runs its instances, and on SIGTERM terminates them and exits 0.
func TestAgentCommandServesARunAndStopsCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if code, out, errs := runLab(t, "agent", "token", "--out", tokFile); code != exitOK || !strings.Contains(out, tokFile) {
		t.Fatalf("lab agent token: %d %q %q", code, out, errs)
	}
	if code, _, errs := runLab(t, "agent", "token", "--out", tokFile); code == exitOK || !strings.Contains(errs, "exists") {
		t.Errorf("lab agent token over an existing file: %d %q", code, errs)
	}
	tok, err := agent.ReadToken(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runLab(t, "agent", "--listen", "127.0.0.1:0", "--subnet", "127.0.97.5/24", "--token-file", tokFile); code != exitUsage || !strings.Contains(errs, `--subnet "127.0.97.5/24": allowed: an IPv4 /24 network address`) {
		t.Errorf("a subnet that is not a network address: %d %q", code, errs)
	}

	cmd := exec.Command(labBin, "agent", "--listen", "127.0.0.1:0", "--subnet", "127.0.97.0/24", "--token-file", tokFile, "--dir", filepath.Join(dir, "agent"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() }) // if the test fails before the SIGTERM
	var ready string
	select {
	case ready = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("no ready line in 30 s; stderr:\n%s", stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.SplitN(ready, ";", 2)[0], "agent ready on ")
	if !ok || !strings.Contains(ready, "zone subnet 127.0.97.0/24") {
		t.Fatalf("ready line %q", ready)
	}

	ctx := context.Background()
	r, err := agent.DialRun(ctx, addr, tok, fmt.Sprintf("agent-cmd-test-%d", os.Getpid()), "process")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("127.0.97.10")
	l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	spec := az.Spec{ID: "i-0000000000000a9e1", Zone: az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("127.0.97.0/24")},
		Addr: a, Port: port, Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{labBin, "simplydone"}}
	if _, err := r.Launch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, spec, 30*time.Second)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("lab agent after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("lab agent still running 60 s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if _, err := aztest.Get(aztest.URL(spec), 500*time.Millisecond); err == nil {
		t.Error("the run's instance still answers after the agent stopped")
	}
	if !strings.Contains(stderr.String(), "run ended; its instances are terminated") {
		t.Errorf("the agent did not say it ended the run; stderr:\n%s", stderr.String())
	}
	r.Close() // the agent is gone: the run is already ended there
}
