package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
	"github.com/simplydone/lab/sim/az/docker"
)

// agentContainers lists, by the docker CLI, the containers an agent
// process made (their owner pid label), as "name run zone addr:port".
func agentContainers(t *testing.T, pid int) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+docker.LabelOwnerPID+"="+strconv.Itoa(pid), "--format",
		`{{.Names}} {{.Label "`+docker.LabelRun+`"}} {{.Label "`+docker.LabelZone+`"}}`).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestDockerRunThroughAnAgent: `lab run --driver docker` with a zone on a
// `lab agent` (on loopback): the zone's instances are containers of the
// agent's engine carrying the run's label, they serve the run (PASS), and
// they are gone after it; a container the agent made outlives the agent
// killed outright and the next agent on its directory reaps it.
func TestDockerRunThroughAnAgent(t *testing.T) {
	if _, _, err := lab.ResolveDriver(context.Background(), lab.DriverDocker); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH to look at the containers with")
	}
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if code, _, errs := runLab(t, "agent", "token", "--out", tokFile); code != exitOK {
		t.Fatalf("lab agent token: %d %s", code, errs)
	}
	const subnet = "127.0.107.0/24"
	adir := filepath.Join(dir, "agent")
	p := startAgent(t, tokFile, adir, subnet)
	st := strings.Replace(fmt.Sprintf(testStack, 18641, 18641), "availability_zones: [us-east-1a, us-east-1b, us-east-1c]",
		"zones: [{name: us-east-1a}, {name: us-east-1b, agent: \""+p.addr+"\"}]", 1)
	write(t, dir, "stack.yaml", st)
	sc := write(t, dir, "s.yaml", "name: s\nstack: stack.yaml\nspeed: 20\nseed: 3\nload:\n  phases: [{duration: 2m, rate: 5}]\nslos: [success_rate >= 95%]\n")
	runs := filepath.Join(dir, "runs")
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runLab(t, "run", sc, "--driver", "docker", "--no-tui", "--out", runs, "--agent-token-file", tokFile)
		done <- result{code, out, errs}
	}()
	// While the run goes: the agent's container, in zone us-east-1b.
	var seen []string
	var res result
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-time.After(100 * time.Millisecond):
			if seen == nil {
				seen = agentContainers(t, p.cmd.Process.Pid)
			}
		}
	}
	if res.code != exitOK {
		t.Fatalf("lab run: exit %d\n%s\n%s\nagent:\n%s", res.code, res.out, res.err, p.stderr)
	}
	s := onlySummary(t, runs)
	t.Logf("run %s: %s, driver %s, %d requests, success %.2f%%; the agent's containers during the run: %q", s.RunID, s.Verdict, s.Driver, s.Requests, s.SuccessRate, seen)
	if s.Verdict != lab.Pass || s.Driver != lab.DriverDocker {
		t.Errorf("verdict %s (%s), driver %s: want PASS on docker", s.Verdict, s.Reason, s.Driver)
	}
	if len(seen) == 0 {
		t.Fatalf("no container of the agent's seen during the run; agent:\n%s", p.stderr)
	}
	for _, c := range seen {
		f := strings.Fields(c)
		if len(f) != 3 || f[1] != s.RunID || f[2] != "us-east-1b" || f[0] != docker.ContainerName(s.RunID, "")+strings.TrimPrefix(f[0], docker.ContainerName(s.RunID, "")) {
			t.Errorf("the agent's container %q: want lab-%s-<id> of run %s in us-east-1b", c, s.RunID, s.RunID)
		}
	}
	if left := agentContainers(t, p.cmd.Process.Pid); len(left) > 0 {
		t.Errorf("the agent's containers left after the run: %q", left)
	}

	// The agent killed outright leaves its container; the next reaps it.
	tok, err := agent.ReadToken(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := agent.DialOpen(context.Background(), p.addr, tok, agent.OpenOptions{Run: fmt.Sprintf("agentdocker-%d", os.Getpid()), Driver: "docker"})
	if err != nil {
		t.Fatalf("open a docker run on the agent: %v\n%s", err, p.stderr)
	}
	defer r.Close()
	spec := az.Spec{ID: "i-0000000000000d0c1", Zone: az.Zone{Name: "us-east-1b", Index: 2, Subnet: netip.MustParsePrefix(subnet)},
		Addr: netip.MustParseAddr("127.0.107.10"), Port: 18642, Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{labBin, "simplydone"}}
	if _, err := r.Launch(context.Background(), spec); err != nil {
		t.Fatalf("launch on the agent's engine: %v\n%s", err, p.stderr)
	}
	aztest.WaitServing(t, spec, 30*time.Second)
	if a, err := r.CPUAccount(context.Background(), spec.ID); err != nil || a.Share != 0.25 {
		t.Errorf("the container's CPU accounting through the agent: %+v, %v", a, err)
	}
	pid := p.cmd.Process.Pid
	p.cmd.Process.Kill()
	<-p.exited
	if got := agentContainers(t, pid); len(got) != 1 {
		t.Fatalf("after the agent was killed, its containers: %q; want the one it launched", got)
	}
	p = startAgent(t, tokFile, adir, subnet)
	if got := agentContainers(t, pid); len(got) != 0 {
		t.Errorf("the next agent left the dead one's containers: %q; its stderr:\n%s", got, p.stderr)
	}
	if _, err := aztest.Get(aztest.URL(spec), 500*time.Millisecond); err == nil {
		t.Error("the dead agent's instance still answers after the next agent started")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Errorf("the second agent after SIGTERM: %v; stderr:\n%s", err, p.stderr)
	}
}

// TestAgentDockerContextFlag: an agent whose --docker-context the store
// does not hold is refused, with the contexts there are.
func TestAgentDockerContextFlag(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker-config"))
	tokFile := filepath.Join(dir, "token")
	if code, _, errs := runLab(t, "agent", "token", "--out", tokFile); code != exitOK {
		t.Fatalf("lab agent token: %d %s", code, errs)
	}
	code, _, errs := runLab(t, "agent", "--listen", "127.0.0.1:0", "--subnet", "127.0.108.0/24", "--token-file", tokFile,
		"--dir", filepath.Join(dir, "agent"), "--docker-context", "zone-z")
	if want := `lab agent: --docker-context zone-z: docker context "zone-z" not found in ` + filepath.Join(dir, "docker-config") + `; contexts there: default`; code != exitUsage || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, exitUsage, want)
	}
}
