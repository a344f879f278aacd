package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

const agentsStack = `name: web
zones:
  - {name: us-east-1a}
  - {name: us-east-1b, agent: "169.254.1.250:7450"}
  - {name: us-east-1c, agent: "169.254.2.250:7450"}
target_group: {port: 8080}
launch_template: {command: [simplydone]}
auto_scaling_group: {min_size: 1, max_size: 2}
`

// TestDoctorAgents: doctor dials every agent the stack names, through the
// agent client's seam, and says of each, a line apiece, what it answered or
// why it was not dialled; one that does not answer fails doctor.
func TestDoctorAgents(t *testing.T) {
	s, err := stack.Parse("web.yaml", []byte(agentsStack))
	if err != nil {
		t.Fatal(err)
	}
	savedRead, savedProbe := readAgentToken, probeAgent
	t.Cleanup(func() { readAgentToken, probeAgent = savedRead, savedProbe })
	ctx := context.Background()

	readAgentToken, probeAgent = nil, nil
	var out bytes.Buffer
	if doctorAgents(ctx, s, "", &out) || strings.Count(out.String(), "not dialled: this lab binary has no agent client built in") != 2 {
		t.Errorf("without an agent client:\n%s", out.String())
	}

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	readAgentToken = func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		return bytes.TrimSpace(b), err
	}
	probeAgent = func(ctx context.Context, addr string, token []byte) (agentInfo, error) {
		if string(token) != "secret" {
			return agentInfo{}, errors.New("the token differs from the agent's")
		}
		if addr == "169.254.2.250:7450" {
			return agentInfo{}, errors.New("dial tcp 169.254.2.250:7450: i/o timeout")
		}
		return agentInfo{Host: "zone-b", Subnet: netip.MustParsePrefix("169.254.1.0/24"), Drivers: []string{"process", "docker"}, Version: "v0.29"}, nil
	}
	t.Setenv(agentTokenEnv, "")
	out.Reset()
	if doctorAgents(ctx, s, "", &out) || !strings.Contains(out.String(), "not dialled: no token; give the file the agents were started with (--agent-token-file or $LAB_AGENT_TOKEN_FILE)") {
		t.Errorf("without a token:\n%s", out.String())
	}

	t.Setenv(agentTokenEnv, tokenFile)
	out.Reset()
	ok := doctorAgents(ctx, s, "", &out)
	want := []string{
		"✓ agent us-east-1b       169.254.1.250:7450: token ok; host zone-b, subnet 169.254.1.0/24, drivers process, docker, version v0.29; no run open",
		"✗ agent us-east-1c       169.254.2.250:7450: not dialled: dial tcp 169.254.2.250:7450: i/o timeout",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); ok || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("doctor ok=%v, said:\n%s\nwant:\n%s", ok, out.String(), strings.Join(want, "\n"))
	}

	out.Reset()
	if doctorAgents(ctx, s, filepath.Join(t.TempDir(), "none"), &out) || !strings.Contains(out.String(), "not dialled: the token: open ") {
		t.Errorf("with a token file that is not there:\n%s", out.String())
	}

	local, err := stack.Parse("l.yaml", []byte(strings.Replace(strings.Replace(agentsStack, `, agent: "169.254.1.250:7450"`, "", 1), `, agent: "169.254.2.250:7450"`, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if !doctorAgents(ctx, local, "", &out) || out.Len() != 0 {
		t.Errorf("a stack without agents: doctor said %q", out.String())
	}
}

// TestRunRefusesAgentsItCannotUse: a stack whose zones name agents is
// refused before anything starts (exit 2) when the run cannot use them: no
// agent client built in, or no token given.
func TestRunRefusesAgentsItCannotUse(t *testing.T) {
	t.Setenv(agentTokenEnv, "")
	dir := t.TempDir()
	st := strings.Replace(fmt.Sprintf(testStack, 18616, 18616), "availability_zones: [us-east-1a, us-east-1b, us-east-1c]",
		"zones: [{name: us-east-1a}, {name: us-east-1b, agent: \"127.0.0.1:7461\"}]", 1)
	write(t, dir, "stack.yaml", st)
	sc := write(t, dir, "s.yaml", "name: s\nstack: stack.yaml\nload:\n  phases: [{duration: 1m, rate: 1}]\nslos: [requests >= 1]\n")
	runs := filepath.Join(dir, "runs")
	code, _, stderr := runLab(t, "run", sc, "--driver", "process", "--out", runs)
	if code != exitUsage || !strings.Contains(stderr, "zones: us-east-1b on 127.0.0.1:7461 run on agents, but") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(runs); len(entries) != 0 {
		t.Errorf("run directories made anyway: %v", entries)
	}
}
