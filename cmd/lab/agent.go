package main

import (
	"context"
	"encoding/json"
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
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/netcut"
	"github.com/simplydone/lab/internal/procs"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/sim/entry"
)

// agentNetCutter is the network cut of `lab agent --network-cut` (the
// az-outage of a multi-host lab): every link of this host but the
// loopback set down for the fault's duration, what it took down recorded
// in the agent's directory first (netcut.json) so that a crashed agent's
// cut is put back by the next one. A seam for tests.
var agentNetCutter = func(dir string) *netcut.Cutter {
	return netcut.New().WithRecord(filepath.Join(dir, "netcut.json"))
}

// agentCmd is `lab agent`: a zone's host, running that zone's instances
// for a controller that holds the same token, until SIGINT or SIGTERM.
// `lab agent token --out F` writes a new token.
func agentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "token" {
		return agentTokenCommand(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "HOST:PORT to serve on (by convention .250 of the subnet, port 7450)")
	subnetFlag := fs.String("subnet", "", "the zone's subnet on this host, an IPv4 /24 whose addresses are local here (e.g. 169.254.1.0/24)")
	tokenFile := fs.String("token-file", os.Getenv("LAB_AGENT_TOKEN_FILE"), "the shared token (`lab agent token --out F` writes one; default $LAB_AGENT_TOKEN_FILE)")
	dir := fs.String("dir", "", "where run directories and records go on this host (default: the lab's state directory's agent/)")
	allowCut := fs.Bool("network-cut", false, "let an az-outage cut this host off the network: every link but the loopback set down for the fault's duration (the agent restores them itself at its end, or when the controller is gone); off: az-outage acts in the load balancer only")
	dockerContext := fs.String("docker-context", "", "the Docker CLI context whose engine runs the docker driver's instances (default: DOCKER_HOST, else the local socket)")
	lease := fs.Duration("lease", agent.DefaultLease, "with no word from the controller this long, the agent reverts the run's faults (10 leases: ends the run)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "lab agent: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if *listen == "" {
		return bad("--listen HOST:PORT is required (e.g. --listen 169.254.1.250:7450)")
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return bad("--listen %q: %v; allowed: HOST:PORT, e.g. 169.254.1.250:7450", *listen, err)
	}
	subnet, err := agentSubnet(*subnetFlag)
	if err != nil {
		return bad("%v", err)
	}
	if *tokenFile == "" {
		return bad("--token-file F is required (or LAB_AGENT_TOKEN_FILE); `lab agent token --out F` writes one")
	}
	tok, err := agent.ReadToken(*tokenFile)
	if err != nil {
		return bad("%v", err)
	}
	if *lease <= 0 {
		return bad("--lease %s: allowed: more than 0", *lease)
	}
	if *dir == "" {
		*dir = filepath.Join(runlock.DefaultStateDir(), "agent")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "lab agent: --dir: %v\n", err)
		return exitFailed
	}
	defer procs.Govern()() // its node's Go code on as few cores as it needs, as a lab run's (internal/procs)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := agentFactory{stateDir: filepath.Join(*dir, "state"), log: logger, dockerContext: *dockerContext}
	drivers := []string{"process"}
	if e, err := agentEngine(ctx, *dockerContext); err == nil {
		drivers = append(drivers, "docker")
		logger.Info("agent: the docker driver's engine", "context", *dockerContext, "host", e.Host, "version", e.Version)
	} else if *dockerContext != "" {
		return bad("--docker-context %s: %v", *dockerContext, err)
	}
	// What a crashed agent left goes before anything starts: its network
	// cut put back, its instances reaped.
	cutter := agentNetCutter(*dir)
	if was, err := cutter.Recover(); err != nil {
		fmt.Fprintf(stderr, "lab agent: putting back the network cut an earlier agent left: %v\n", err)
		return exitFailed
	} else if was {
		logger.Warn("agent: put back the host's network, which an earlier agent had cut when it died")
	}
	n, err := process.Reap(ctx, f.stateDir, logger)
	if err != nil {
		logger.Warn("reaping what an earlier agent left", "err", err)
	}
	if len(drivers) > 1 {
		m, err := docker.ReapContext(ctx, *dockerContext, f.stateDir, logger)
		if err != nil {
			logger.Warn("reaping the containers an earlier agent left", "err", err)
		}
		n += m
	}
	if n > 0 {
		logger.Info("reaped instance(s) an earlier agent left behind", "count", n)
	}
	var cut agent.NetCutter // nil: cuts are refused
	if *allowCut {
		cut = cutter
	}
	srv, err := agent.NewServer(agent.Config{Token: tok, Subnet: subnet, Dir: *dir, NewRuntime: f.new, Drivers: drivers,
		Lease: *lease, Logger: logger, Cut: cut, Join: agentJoiner(*listen, logger), LoadDial: agentLoadDial,
		NewNode: lab.AgentNodeFactory(logger)}) // the zone's load-balancer node (issue 20)
	if err != nil {
		fmt.Fprintf(stderr, "lab agent: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "lab agent: --listen %s: %v\n", *listen, err)
		return exitFailed
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "agent ready on %s; zone subnet %s; drivers %v; runs in %s\n", ln.Addr(), subnet, drivers, *dir)

	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("agent: stopping (signal): faults reverted, instances terminated")
	case err := <-served:
		fmt.Fprintf(stderr, "lab agent: serving: %v\n", err)
		code = exitFailed
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "lab agent: %v\n", err)
		code = exitFailed
	}
	if err := <-served; err != nil && code == exitOK {
		fmt.Fprintf(stderr, "lab agent: serving: %v\n", err)
		code = exitFailed
	}
	fmt.Fprintln(stdout, "agent stopped")
	return code
}

// agentJoiner joins the controller's agents' cluster for a run, bound on
// the agent's listen address at its API port + 1 (a free port when the API
// port is 0), with the cluster's timing and key as the controller sent them.
func agentJoiner(listen string, logger *slog.Logger) agent.Joiner {
	return func(_ context.Context, j agent.JoinSpec) (func() error, error) {
		host, portStr, _ := net.SplitHostPort(listen)
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.IsUnspecified() {
			return nil, fmt.Errorf("--listen %s names no address for the agents' cluster to bind; give the agent's own address", listen)
		}
		port, _ := strconv.Atoi(portStr)
		if port != 0 {
			port++
		}
		d := entry.Timing{}.Wall(clock.Real())
		if len(j.Timing) > 0 {
			if err := json.Unmarshal(j.Timing, &d); err != nil {
				return nil, fmt.Errorf("the cluster's timing: %w", err)
			}
		}
		m, err := entry.JoinAgents(entry.AgentMemberConfig{Name: j.Name, Bind: ip.String(), Port: port, Timing: d,
			Gossip: entry.Gossip{Key: j.Key, Label: j.Label}, Logger: logger}, j.Controller)
		if err != nil {
			return nil, err
		}
		logger.Info("agent: joined the controller's cluster", "as", j.Name, "controller", j.Controller, "member", m.Addr())
		return func() error { return m.Leave(2 * time.Second) }, nil
	}
}

// agentSubnet parses --subnet: an IPv4 /24, the zone's address plan (.10-.199
// instances, .250-.254 the lab's helpers) inside it.
func agentSubnet(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("--subnet CIDR is required (e.g. --subnet 169.254.1.0/24)")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() != 24 || p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("--subnet %q: allowed: an IPv4 /24 network address, e.g. 169.254.1.0/24", s)
	}
	return p, nil
}

// agentTokenCommand is `lab agent token --out F`.
func agentTokenCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the file to write (mode 0600; an existing file is not overwritten)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: lab agent token --out FILE")
		return exitUsage
	}
	tok, err := agent.NewToken()
	if err == nil {
		err = agent.WriteToken(*out, tok)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lab agent token: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "Wrote a new agent token to %s (readable by you only): give it to the controller and every agent\n", *out)
	return exitOK
}

// agentFactory makes a run's runtime on this host: its records under
// stateDir (where the next agent's reaper finds a crashed one's), its
// instances' output in the run's directory.
type agentFactory struct {
	stateDir      string
	log           *slog.Logger
	dockerContext string // --docker-context; "": DOCKER_HOST, else the local socket
}

func (f agentFactory) new(ctx context.Context, runID, driver, dir string) (az.Runtime, error) {
	logs := filepath.Join(dir, agent.LogsDir)
	switch driver {
	case "process":
		if _, err := process.Reap(ctx, f.stateDir, f.log); err != nil {
			f.log.Warn("reaping earlier runs", "err", err)
		}
		return process.New(process.Options{RunID: runID, StateDir: f.stateDir, LogDir: logs, Logger: f.log})
	case "docker":
		if _, err := docker.ReapContext(ctx, f.dockerContext, f.stateDir, f.log); err != nil {
			f.log.Warn("reaping earlier runs' containers", "err", err)
		}
		return docker.New(ctx, docker.Options{RunID: runID, Logger: f.log, LogDir: logs, Context: f.dockerContext})
	}
	return nil, fmt.Errorf("driver %q: allowed process, docker", driver)
}

// agentEngine asks the docker driver's engine (the named context's, or
// DOCKER_HOST's) for its version within two seconds.
func agentEngine(ctx context.Context, contextName string) (docker.Engine, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return docker.Probe(ctx, contextName)
}

// agentLoadDial resolves a load share's load balancer name through the
// controller's DNS server, as the controller's own generator does
// (sim/agent/load.go).
func agentLoadDial(dns, name, client string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&entry.Dialer{Resolver: entry.NewResolver(dns, nil), Name: name, Client: client}).DialContext
}
