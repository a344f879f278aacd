package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/stack"
)

// Agents in this process (issue 20), the default of `lab run` and `lab up`
// on one host: every zone of a one-host stack runs on a `lab agent` of its
// own, started in this process on loopback, and the run drives them as it
// drives agents on other hosts: the same API (token, lease, dead-man
// switch), the zones' load balancer nodes on their agents, memberlist
// between them. So the code a multi-host run depends on is the code every
// run uses. --agents-in-process=false runs the zones as the controller's
// own (instances its children, nodes its own): about a quarter less of the
// lab's own CPU (bench/inprocess.sh), and the only way with --isolate,
// whose namespaces have no agents' path yet. Zone N's agent serves on
// 127.0.N.250 (a free port) with the zone's own subnet of the address
// plan, 127.0.N.0/24, so instances and nodes keep their addresses.
//
// One host is still one host (stack.Stack.AgentsInProcess): the instances
// share the run's one SimplyDone store (agent.Config.KeepDataDir), so
// writes are checked, and reach the data tier at its stable addresses and
// DNS names, as a zone on this host does. No network cut: an az-outage
// acts in the load balancer, as with an agent started without
// --network-cut.

// agentsInProcessFlag is --agents-in-process, on by default.
func agentsInProcessFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("agents-in-process", true, "run each zone on a lab agent of its own started in this process, on loopback, and drive them as agents on other hosts; =false: run the zones as this process's own (inprocess.go)")
}

// useAgentsInProcess says whether a run of st starts agents in this
// process: --agents-in-process (on by default), unless the stack's zones
// name agents or Docker contexts of their own or --isolate is given, where
// the flag given explicitly is an error.
func useAgentsInProcess(fs *flag.FlagSet, on bool, st *stack.Stack, isolate bool) (bool, error) {
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "agents-in-process" })
	var why string
	switch {
	case !on:
		return false, nil
	case st.HasAgents() || len(st.ZoneContexts) > 0:
		why = "the stack's zones already name agents or Docker contexts"
	case isolate:
		why = "--isolate has no agents' path yet (its namespaces are this host's)"
	default:
		return true, nil
	}
	if explicit {
		return false, fmt.Errorf("--agents-in-process: %s; leave it out, or give --agents-in-process=false", why)
	}
	return false, nil
}

// agentsForRun starts the agents in this process for a run of st when it
// uses them (useAgentsInProcess), and returns the token to give the run
// (token itself when none start) and the stop to defer, which ends them
// and moves their files into the run's directory, *runDir by then (""
// when the run made none). cmd ("lab run") names the command in what goes
// to stderr; not ok: the run must not start (said on stderr).
func agentsForRun(ctx context.Context, cmd string, fs *flag.FlagSet, on bool, st *stack.Stack, isolate bool, token []byte, logger *slog.Logger, stderr io.Writer, runDir *string) ([]byte, func(), bool) {
	use, err := useAgentsInProcess(fs, on, st, isolate)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return nil, nil, false
	}
	if !use {
		return token, func() {}, true
	}
	tok, stop, err := startInProcessAgents(ctx, st, logger)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return nil, nil, false
	}
	return tok, func() {
		if err := stop(*runDir); err != nil {
			fmt.Fprintf(stderr, "%s: stopping the agents in this process: %v\n", cmd, err)
		}
	}, true
}

// inProcessAgents is the agents of one run, started by startInProcessAgents.
type inProcessAgents struct {
	servers []*agent.Server
	served  []chan error
	dirs    map[string]string // zone -> its agent's directory (run directories in it)
	root    string            // this run's agents' directories (lab.InProcessAgentsDir)
}

// startInProcessAgents starts an agent per zone of st in this process and
// names each in st's zones (st.ZoneAgents), with a new token for the run;
// stop ends them (their runs' instances terminated, faults reverted) and,
// given the run's directory, moves what each agent kept of the run there
// (its instances' logs, its node's access log) as agents/<zone>/. Only
// for a stack whose zones name no agents or Docker contexts
// (useAgentsInProcess).
func startInProcessAgents(ctx context.Context, st *stack.Stack, logger *slog.Logger) (token []byte, stop func(runDir string) error, err error) {
	token, err = agent.NewToken()
	if err != nil {
		return nil, nil, err
	}
	drivers := []string{"process"}
	if _, err := agentEngine(ctx, ""); err == nil {
		drivers = append(drivers, "docker")
	}
	zones, err := az.NewZones(st.Zones) // each zone's own subnet in the address plan
	if err != nil {
		return nil, nil, err
	}
	a := &inProcessAgents{dirs: map[string]string{}}
	parent := lab.InProcessAgentsDir(runlock.DefaultStateDir())
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, nil, fmt.Errorf("the agents' directory: %w", err)
	}
	if a.root, err = os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-"); err != nil {
		return nil, nil, fmt.Errorf("the agents' directory: %w", err)
	}
	agents := map[string]string{}
	for _, z := range zones {
		zone, subnet := z.Name, z.Subnet
		dir := filepath.Join(a.root, strconv.Itoa(z.Index))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, errors.Join(err, a.stop(""))
		}
		a.dirs[zone] = dir
		at := subnet.Addr().As4()
		at[3] = 250 // the plan's .250: a lab helper's address in the zone's subnet
		listen := net.JoinHostPort(netip.AddrFrom4(at).String(), "0")
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("--agents-in-process: zone %s's agent: %w", zone, err), a.stop(""))
		}
		f := agentFactory{stateDir: filepath.Join(dir, "state"), log: logger}
		srv, err := agent.NewServer(agent.Config{Token: token, Subnet: subnet, Dir: dir, NewRuntime: f.new, Drivers: drivers,
			Lease: agent.DefaultLease, Logger: logger, Join: agentJoiner(listen, logger), LoadDial: agentLoadDial,
			NewNode: lab.AgentNodeFactory(logger), KeepDataDir: true})
		if err != nil {
			ln.Close()
			return nil, nil, errors.Join(fmt.Errorf("--agents-in-process: zone %s's agent: %w", zone, err), a.stop(""))
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		a.servers, a.served = append(a.servers, srv), append(a.served, served)
		agents[zone] = ln.Addr().String()
	}
	st.ZoneAgents, st.AgentsInProcess = agents, true
	return token, a.stop, nil
}

// stop closes every agent (its runs ended: instances terminated, faults
// reverted) and waits for each to stop serving; then, when runDir is
// given, moves each agent's directory of that run into runDir's agents/.
func (a *inProcessAgents) stop(runDir string) error {
	var errs []error
	for i, srv := range a.servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := <-a.served[i]; err != nil {
			errs = append(errs, err)
		}
	}
	a.servers, a.served = nil, nil
	errs = append(errs, a.keep(runDir)...)
	if len(errs) == 0 { // the runtimes ended every instance: no record left to reap
		os.RemoveAll(a.root) // best effort: the next run's reap removes what is left
	}
	return errors.Join(errs...)
}

// keep moves each agent's directory of the run into runDir's agents/
// (nothing when the run made no directory, runDir "").
func (a *inProcessAgents) keep(runDir string) []error {
	if runDir == "" {
		return nil
	}
	var errs []error
	for zone, dir := range a.dirs {
		from := filepath.Join(dir, filepath.Base(runDir))
		if _, err := os.Stat(from); err != nil {
			continue // the run never opened on this agent
		}
		to := filepath.Join(runDir, lab.InProcessAgentRunDir(zone))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := process.MoveDir(from, to); err != nil {
			errs = append(errs, fmt.Errorf("keep zone %s's agent's files with the run: %w", zone, err))
		}
	}
	return errs
}
