package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/stack"
)

// Zones on agents (stack zones: with agent:, lab/agents.go): the token the
// agents were started with, and what doctor says of each agent.

// agentTokenEnv names the agents' token file when --agent-token-file is not given.
const agentTokenEnv = "LAB_AGENT_TOKEN_FILE"

// readAgentToken reads an agents' token file; nil: this binary has no
// agent client, and lab.Start refuses a stack naming an agent.
var readAgentToken func(path string) ([]byte, error) = agent.ReadToken

// agentInfo is what an agent says of itself (sim/agent.Info).
type agentInfo struct {
	Host    string
	Subnet  netip.Prefix
	Drivers []string
	Version string
	Run     string // the run it has open, or ""
}

// probeAgent dials the agent at addr with token (TLS and the token's
// check) and returns what it says of itself; a seam for tests.
var probeAgent func(ctx context.Context, addr string, token []byte) (agentInfo, error) = dialAgentInfo

// dialAgentInfo is probeAgent through sim/agent: Dial, Info, Close.
func dialAgentInfo(ctx context.Context, addr string, token []byte) (agentInfo, error) {
	c, err := agent.Dial(ctx, addr, token)
	if err != nil {
		return agentInfo{}, err
	}
	defer c.Close()
	i := c.Info()
	return agentInfo{Host: i.Host, Subnet: i.Subnet, Drivers: i.Drivers, Version: i.Version, Run: i.Run}, nil
}

// agentTokenFlag adds --agent-token-file to a command's flags.
func agentTokenFlag(fs *flag.FlagSet) *string {
	return fs.String("agent-token-file", "", "the token file the stack's agents were started with (zones: with agent:); default $"+agentTokenEnv)
}

// agentToken reads the agents' token for a stack whose zones run on
// agents: the file given, else $LAB_AGENT_TOKEN_FILE. A stack without
// agents, or a binary without an agent client, needs none (nil).
func agentToken(s *stack.Stack, file string) ([]byte, error) {
	if !s.HasAgents() || readAgentToken == nil {
		return nil, nil
	}
	if file == "" {
		file = os.Getenv(agentTokenEnv)
	}
	if file == "" {
		return nil, nil // lab.Start says what is missing
	}
	return readAgentToken(file)
}

// agentProbeTimeout bounds dialling one agent.
const agentProbeTimeout = 5 * time.Second

// doctorAgents dials every agent the stack's zones name and says, a line
// each, whether it answered and what it offers, or why not. It fails
// doctor when one does not answer.
func doctorAgents(ctx context.Context, s *stack.Stack, tokenFile string, stdout io.Writer) bool {
	if !s.HasAgents() {
		return true
	}
	token, terr := agentToken(s, tokenFile)
	ok := true
	for _, z := range s.Zones {
		addr := s.ZoneAgent(z)
		if addr == "" {
			continue
		}
		what := "agent " + z
		bad := func(format string, args ...any) {
			ok = false
			fmt.Fprintf(stdout, "✗ %-22s %s: not dialled: %s\n", what, addr, fmt.Sprintf(format, args...))
		}
		switch {
		case probeAgent == nil || readAgentToken == nil:
			bad("this lab binary has no agent client built in")
			continue
		case terr != nil:
			bad("the token: %v", terr)
			continue
		case len(token) == 0:
			bad("no token; give the file the agents were started with (--agent-token-file or $%s)", agentTokenEnv)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, agentProbeTimeout)
		info, err := probeAgent(pctx, addr, token)
		cancel()
		if err != nil {
			bad("%v", err)
			continue
		}
		run := "no run open"
		if info.Run != "" {
			run = "run " + info.Run + " open"
		}
		mark, subnet := "✓", info.Subnet.String()
		if !info.Subnet.Addr().Is4() || info.Subnet.Bits() != 24 {
			mark, ok = "✗", false
			subnet += " (the lab's zone plan needs an IPv4 /24: lab agent --subnet)"
		}
		fmt.Fprintf(stdout, "%s %-22s %s: token ok; host %s, subnet %s, drivers %s, version %s; %s\n",
			mark, what, addr, info.Host, subnet, strings.Join(info.Drivers, ", "), info.Version, run)
	}
	return ok
}
