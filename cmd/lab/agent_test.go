package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
	"github.com/simplydone/lab/sim/entry"
)

// agentProc is a `lab agent` process started by a test.
type agentProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuf
	exited chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgent runs the built binary as an agent for subnet, and waits for
// its ready line.
func startAgent(t *testing.T, tokFile, dir, subnet string) *agentProc {
	t.Helper()
	p := &agentProc{stderr: &syncBuf{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(labBin, "agent", "--listen", "127.0.0.1:0", "--subnet", subnet, "--token-file", tokFile, "--dir", dir)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() }) // if the test fails before it ends the agent
	var ready string
	select {
	case ready = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("no ready line in 30 s; stderr:\n%s", p.stderr)
	}
	addr, ok := strings.CutPrefix(strings.SplitN(ready, ";", 2)[0], "agent ready on ")
	if !ok || !strings.Contains(ready, "zone subnet "+subnet) {
		t.Fatalf("ready line %q", ready)
	}
	p.addr = addr
	return p
}

// launchSimplyDone launches SimplyDone (the lab's own binary) on addr.
func launchSimplyDone(t *testing.T, r *agent.Remote, addr, id string) az.Spec {
	t.Helper()
	a := netip.MustParseAddr(addr)
	l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	spec := az.Spec{ID: az.InstanceID(id), Zone: az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.PrefixFrom(a, 24).Masked()},
		Addr: a, Port: port, Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{labBin, "simplydone"}}
	if _, err := r.Launch(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, spec, 30*time.Second)
	return spec
}

// `lab agent` serves a run over TLS with a token from `lab agent token`,
// joins the controller's agents' cluster, runs the run's instances, and on
// SIGTERM terminates them, leaves the cluster (a leave, not a death) and
// exits 0. An agent killed outright (its host gone) is declared dead by
// the cluster's failure detector, its instances gone with it, and the next
// agent starts on its directory.
func TestAgentCommand(t *testing.T) {
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

	g, err := entry.NewGossip()
	if err != nil {
		t.Fatal(err)
	}
	d := entry.Timing{Factor: 0.2}.Wall(clock.Real())
	timing, _ := json.Marshal(d)
	dead, alive := make(chan string, 8), make(chan string, 8)
	ctl, err := entry.StartAgents(entry.AgentsConfig{Bind: "127.0.0.1", Timing: d, Gossip: g,
		OnDead: func(n string) { dead <- n }, OnAlive: func(n string) { alive <- n }})
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	open := func(p *agentProc, zone string) *agent.Remote {
		t.Helper()
		r, err := agent.DialOpen(context.Background(), p.addr, tok, agent.OpenOptions{Run: fmt.Sprintf("agent-cmd-%s-%d", zone, os.Getpid()), Driver: "process",
			Join: &agent.JoinSpec{Name: zone, Controller: ctl.Addr(), Key: g.Key, Label: g.Label, Timing: timing}})
		if err != nil {
			t.Fatalf("open on agent %s: %v; its stderr:\n%s", p.addr, err, p.stderr)
		}
		select {
		case n := <-alive:
			if n != zone {
				t.Fatalf("OnAlive(%q), want %s", n, zone)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("agent of %s not alive in the cluster within 10 s", zone)
		}
		return r
	}

	// SIGTERM: instances terminated, the cluster left, exit 0.
	p := startAgent(t, tokFile, filepath.Join(dir, "agent-a"), "127.0.97.0/24")
	r := open(p, "us-east-1a")
	spec := launchSimplyDone(t, r, "127.0.97.10", "i-0000000000000a9e1")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("lab agent after SIGTERM: %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("lab agent still running 60 s after SIGTERM; stderr:\n%s", p.stderr)
	}
	if _, err := aztest.Get(aztest.URL(spec), 500*time.Millisecond); err == nil {
		t.Error("the run's instance still answers after the agent stopped")
	}
	if !strings.Contains(p.stderr.String(), "run ended; its instances are terminated") {
		t.Errorf("the agent did not say it ended the run; stderr:\n%s", p.stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ctl.Alive()["us-east-1a"] {
		if time.Now().After(deadline) {
			t.Fatal("the stopped agent still alive in the cluster after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Close() // the agent is gone: the run already ended there

	// SIGKILL: the host is gone; the failure detector says so.
	bdir := filepath.Join(dir, "agent-b")
	p = startAgent(t, tokFile, bdir, "127.0.98.0/24")
	r = open(p, "us-east-1b")
	defer r.Close()
	spec = launchSimplyDone(t, r, "127.0.98.10", "i-0000000000000a9e2")
	start := time.Now()
	p.cmd.Process.Kill()
	<-p.exited
	select {
	case n := <-dead:
		if n != "us-east-1b" {
			t.Fatalf("OnDead(%q), want us-east-1b (us-east-1a left, it did not die)", n)
		}
		t.Logf("killed agent declared dead after %s (memberlist's most without confirmations: %s)", time.Since(start).Round(time.Millisecond), d.MaxDetection())
	case <-time.After(2 * d.MaxDetection()):
		t.Fatalf("the killed agent not declared dead within %s", 2*d.MaxDetection())
	}
	// Its instances die with it, as a host's do (the process runtime's
	// children end with their runtime).
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := aztest.Get(aztest.URL(spec), 500*time.Millisecond); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed agent's instance still answers 10 s later")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The next agent on that directory starts over what the dead one left.
	p = startAgent(t, tokFile, bdir, "127.0.98.0/24")
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Errorf("the second agent after SIGTERM: %v; stderr:\n%s", err, p.stderr)
	}
}
