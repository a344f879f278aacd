// Command lab rehearses an AWS web tier on one machine: an Application Load
// Balancer with a node per Availability Zone, in front of instances that run
// as local processes on each zone's loopback subnet.
//
//	lab run SCENARIO [--speed N] [--seed N]  rehearse a scenario and judge it against its SLOs
//	lab plan SCENARIO [--seed N]             print the resolved timeline without starting anything
//	lab scenarios                            list the built-in scenarios
//	lab up [--stack NAME|FILE] [--speed N]   bring the tier up until Ctrl-C
//	lab validate FILE...                     check stack files, every error at once
//	lab down                                 undo a crashed run's faults and reap what it left behind
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/simplydone/lab/internal/buildinfo"
	"github.com/simplydone/lab/internal/procs"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/todo/cli"
)

// Exit codes a script can rely on.
const (
	exitOK          = 0 // PASS
	exitFailed      = 1 // FAIL
	exitUsage       = 2 // bad usage or an invalid stack or scenario
	exitInvalid     = 3 // INVALID: the load generator could not hold its schedule
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  lab run SCENARIO [--driver auto|process|docker] [--speed N] [--seed N] [--out DIR] [--no-tui]
          [--stack NAME|FILE|TERRAFORM_DIR|TEMPLATE [--var NAME=VALUE] [--var-file FILE]]
      rehearse a built-in scenario or a scenario file; exit 0 PASS, 1 FAIL, 2 bad input,
      3 INVALID, 130 interrupted
  lab plan SCENARIO [--speed N] [--seed N] [--stack ... as lab run]
      print what the scenario will do, when and to which zone or instance, its SLOs and stop
      conditions, without starting anything
  lab scenarios
      list the built-in scenarios
  lab watch [RUN_DIR]
      attach read-only to a running lab (the newest under ./runs by default)
  lab report RUN_DIR
      write RUN_DIR/report.html again from the run directory
  lab compare RUN_A RUN_B [-o FILE]
      compare two runs: a table on the terminal and an HTML report (default compare.html)
  lab up [--stack NAME|FILE] [--speed N] [--runs-dir DIR] [--driver auto|process|docker]
      start the tier and keep it up until Ctrl-C (built-in stacks: %s)
  lab export terraform|cloudformation --stack NAME|FILE | --from-run RUN_DIR [--force] [--single-nat] -o OUT
      write the stack as a Terraform module (OUT a directory) or a CloudFormation template (OUT a file)
  lab import terraform DIR [-var NAME=VALUE] [-var-file FILE] [-o stack.yaml]
  lab import cloudformation FILE [-var NAME=VALUE] [-o stack.yaml]
      write the lab's stack from an existing configuration, listing what is not rehearsed
  lab validate FILE...
      check stack files; exit 2 and list every problem if any is invalid
  lab doctor [STACK]
      what this machine offers: a Docker engine, CPU limits, loopback addresses, free ports
  lab down [--state-dir DIR] [--runs-dir DIR]
      undo what a crashed run's faults left (replaying RUN_DIR/chaos.jsonl) and stop what it left
      running; running twice is harmless
  lab agent --listen HOST:PORT --subnet CIDR --token-file F [--dir D] [--lease D]
      run a zone's instances on this host for a controller holding the same token, until Ctrl-C
  lab agent token --out F
      write a new agent token (mode 0600)
  lab version
      the lab's version, commit and Go version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, usage, strings.Join(stack.BuiltinNames(), ", "))
		return exitUsage
	}
	if exe, err := selfExecutable(); err == nil { // as root, instances start through `lab drop-privileges`
		process.UseShim([]string{exe, process.ShimArg})
	}
	switch args[0] {
	case "run":
		return runScenario(ctx, args[1:], stdout, stderr)
	case "plan":
		return planCmd(args[1:], stdout, stderr)
	case "scenarios":
		for _, n := range scenarios.BuiltinNames() {
			fmt.Fprintf(stdout, "%-20s %s\n", n, scenarios.Describe(n))
		}
		return exitOK
	case "up":
		return up(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCmd(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "watch":
		return watchCmd(ctx, args[1:], stdout, stderr)
	case "doctor":
		return doctor(ctx, args[1:], stdout, stderr)
	case "report":
		return reportCmd(ctx, args[1:], stdout, stderr)
	case "compare":
		return compareCmd(ctx, args[1:], stdout, stderr)
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "down":
		return down(ctx, args[1:], stdout, stderr)
	case "agent":
		return agentCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, buildinfo.Read())
		return exitOK
	case "simplydone": // hidden: SimplyDone itself, what the runtimes run for `command: [simplydone]`
		return cli.Main(args[1:])
	case process.ShimArg: // hidden: run as root by the process runtime, drops every privilege and executes an instance
		return process.Shim(args[1:])
	case "hog": // hidden: chaos's cpu-hog inside a container built from this binary (/app hog)
		cli.Hog()
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, strings.Join(stack.BuiltinNames(), ", "))
		return exitOK
	}
	fmt.Fprintf(stderr, "lab: unknown command %q\n", args[0])
	fmt.Fprintf(stderr, usage, strings.Join(stack.BuiltinNames(), ", "))
	return exitUsage
}

func validate(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: lab validate FILE...")
		return exitUsage
	}
	code := exitOK
	for _, f := range args {
		if _, err := stack.Load(f); err != nil {
			fmt.Fprintln(stderr, err)
			code = exitUsage
			continue
		}
		fmt.Fprintf(stdout, "%s: valid\n", f)
	}
	return code
}

func down(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "where runs keep their locks and records (default: $XDG_STATE_HOME/lab or ~/.local/state/lab)")
	runsDir := fs.String("runs-dir", "runs", "where else to look for run directories (the state directory names each dead run's own)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	// First undo what crashed runs' faults left (a hog, a frozen process),
	// while their processes are still there to find; then reap them.
	if *stateDir == "" {
		*stateDir = runlock.DefaultStateDir()
	}
	reverts, err := lab.ReplayCrashed(ctx, *stateDir, *runsDir)
	if err != nil {
		fmt.Fprintf(stderr, "lab down: %v\n", err)
		return exitFailed
	}
	failed := false
	for _, r := range reverts {
		for _, fr := range r.Reverted {
			fmt.Fprintf(stdout, "%s: chaos #%d %s %s: %s\n", r.RunDir, fr.N, fr.Action, fr.Instance, fr.Note)
		}
		if r.Err != nil {
			fmt.Fprintf(stderr, "lab down: %s: %v\n", r.RunDir, r.Err)
			failed = true
		}
	}
	undone := 0
	for _, r := range reverts {
		undone += len(r.Reverted)
	}
	fmt.Fprintf(stdout, "Reverted %d fault(s) that crashed runs left in effect.\n", undone)
	n, err := process.Reap(ctx, *stateDir, logger)
	if err != nil {
		fmt.Fprintf(stderr, "lab down: %v\n", err)
		return exitFailed
	}
	_, derr := docker.Available(ctx)
	withDocker := derr == nil
	// runs with their zones on agents in the lab's process
	agentProcs, agentContainers, err := lab.ReapInProcessAgents(ctx, *stateDir, withDocker, logger)
	if err != nil {
		fmt.Fprintf(stderr, "lab down: %v\n", err)
		return exitFailed
	}
	n += agentProcs
	fmt.Fprintf(stdout, "Reaped %d process(es) left behind by earlier runs.\n", n)
	if m, err := lab.ReapDatabaseData(*stateDir, *runsDir); err != nil {
		fmt.Fprintf(stderr, "lab down: %v\n", err)
		failed = true
	} else if m > 0 {
		fmt.Fprintf(stdout, "Removed the database data of %d run(s) that crashed.\n", m)
	}
	if withDocker {
		m, err := docker.ReapEngines(ctx, *stateDir, logger) // this engine and every other local one a Docker context names
		if err != nil {
			fmt.Fprintf(stderr, "lab down: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "Removed %d container(s) left behind by earlier runs.\n", m+agentContainers)
	}
	if _, err := lab.SweepLocks(*stateDir); err != nil {
		fmt.Fprintf(stderr, "lab down: %v\n", err)
		failed = true
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

func up(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackArg := fs.String("stack", "simplydone", "built-in stack name or stack file")
	speed := fs.Float64("speed", 10, "AWS seconds per wall second (1-1000)")
	runsDir := fs.String("runs-dir", "runs", "where run directories go")
	driver := fs.String("driver", lab.DriverAuto, "instance runtime: auto (Docker when an engine answers), process or docker")
	isolate := fs.Bool("isolate", false, "run the instances in network namespaces of their own, loopback only (as root): for programs you do not trust with this host's network")
	tokenFile := agentTokenFlag(fs)      // zones on agents (doctor_agents.go)
	inProcess := agentsInProcessFlag(fs) // the default: zones on agents in this process (inprocess.go)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	s, err := loadStack(*stackArg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	token, err := agentToken(s, *tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "lab up: --agent-token-file: %v\n", err)
		return exitUsage
	}
	defer procs.Govern()() // the lab's own Go code on as few cores as it needs (internal/procs)
	var runDir string      // set once the lab has a directory: the in-process agents' files go there
	token, stopAgents, ok := agentsForRun(ctx, "lab up", fs, *inProcess, s, *isolate, token,
		slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), stderr, &runDir)
	if !ok {
		return exitUsage
	}
	defer stopAgents()
	l, err := lab.Start(ctx, lab.Options{
		Stack: s, Speed: *speed, RunsDir: *runsDir, Console: stdout, SimplyDone: selfSimplyDone(), Driver: *driver, Isolate: *isolate, AgentToken: token,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintf(stderr, "lab up: %v\n", err)
		if errors.Is(err, context.Canceled) {
			return exitOK
		}
		if live := (*lab.LiveRunError)(nil); errors.As(err, &live) {
			return exitUsage
		}
		if errors.As(err, new(*lab.PreflightError)) {
			return exitUsage // nothing started: the stack's instances could not launch
		}
		if errors.As(err, new(*lab.DirError)) {
			return exitUsage // nothing started: a directory the lab will not use
		}
		return exitFailed
	}
	runDir = l.Dir
	printTier(stdout, l)
	if err := l.WaitLaunchFailure(ctx); err != nil { // returns nil once ctx ends (Ctrl-C)
		fmt.Fprintf(stderr, "lab up: %v\n", err)
		if err := l.Close(); err != nil {
			fmt.Fprintf(stderr, "lab up: shutting down: %v\n", err)
		}
		return exitUsage // not one instance of the stack could launch: fix the stack
	}
	fmt.Fprintln(stdout, "Stopping: deregistering targets and terminating instances...")
	if err := l.Close(); err != nil {
		fmt.Fprintf(stderr, "lab up: shutting down: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "Stopped. Nothing left running. Evidence: %s\n", l.Dir)
	return exitOK
}

func printTier(w io.Writer, l *lab.Lab) {
	urls := l.EntryURLs()
	fmt.Fprintf(w, "\nURL: %s\n", l.URL())
	fmt.Fprintf(w, "DNS name: %s (served at %s, TTL %d s; dig @%s -p %s %s)\n", l.EntryName(), l.DNS().Addr(), l.DNS().TTL(),
		dnsHost(l.DNS().Addr()), dnsPort(l.DNS().Addr()), l.EntryName())
	fmt.Fprintf(w, "Load balancer nodes (one per zone; the DNS name hands out the live ones):\n")
	for i, n := range l.LB.Nodes() {
		fmt.Fprintf(w, "  %-12s %s\n", n.Zone(), urls[i])
	}
	fmt.Fprintf(w, "Instances:\n")
	for _, in := range l.Instances() {
		where := fmt.Sprintf("pid %d", in.PID)
		if in.PID == 0 {
			where = "on its zone's agent"
		}
		fmt.Fprintf(w, "  %s  %-12s %s  %s\n", in.ID, in.Zone, in.Addr, where)
	}
	fmt.Fprintf(w, "\nTry: curl %sapi/todos   (or open %s in a browser; it keeps working when a zone fails)\nCtrl-C stops everything.\n\n", l.URL(), l.URL())
}

// selfExecutable is the lab's own binary (tests point it at a lab they built).
var selfExecutable = os.Executable

// selfSimplyDone is how the runtimes run the built-in SimplyDone: this very
// binary with the hidden simplydone subcommand, so that `go install` of
// cmd/lab is all a user needs. Nil when the executable cannot be found (then
// simplydone is looked up beside the lab and on PATH, as any command is).
func selfSimplyDone() []string {
	exe, err := selfExecutable()
	if err != nil {
		return nil
	}
	return []string{exe, "simplydone"}
}

func dnsHost(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func dnsPort(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
