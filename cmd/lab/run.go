package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/term"

	"github.com/simplydone/lab/internal/procs"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/tui"
)

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	driver := fs.String("driver", "auto", "instance runtime: auto (Docker when an engine answers), process or docker")
	noTUI := fs.Bool("no-tui", false, "print plain lines even when standard output is a terminal")
	speed := fs.Float64("speed", 0, "AWS seconds per wall second (default: the scenario's)")
	seed := fs.Uint64("seed", 0, "seed for every random choice (default: the scenario's)")
	out := fs.String("out", "runs", "where run directories go")
	isolate := fs.Bool("isolate", false, "run the instances in network namespaces of their own, loopback only (as root): for programs you do not trust with this host's network")
	tokenFile := agentTokenFlag(fs)      // zones on agents (doctor_agents.go)
	inProcess := agentsInProcessFlag(fs) // the default: zones on agents in this process (inprocess.go)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the lab's own process (not its instances) to `FILE` (cpuprofile.go; bench/flashsale.sh)")
	sf := addStackFlags(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: lab run SCENARIO [--driver auto|process|docker] [--speed N] [--seed N] [--out DIR] [--no-tui] [--isolate] [--agent-token-file FILE] [--agents-in-process=false] [--stack NAME|FILE|TERRAFORM_DIR|TEMPLATE [--var NAME=VALUE] [--var-file FILE]]")
		return exitUsage
	}
	switch *driver {
	case lab.DriverAuto, lab.DriverProcess, lab.DriverDocker:
	default:
		fmt.Fprintf(stderr, "lab run: --driver %q: allowed auto, process, docker\n", *driver)
		return exitUsage
	}
	sc, st, ok := resolveScenario("run", fs.Arg(0), *speed, stderr)
	if !ok {
		return exitUsage
	}
	if st, ok = sf.apply(sc, st, stderr); !ok {
		return exitUsage
	}
	token, terr := agentToken(st, *tokenFile)
	if terr != nil {
		fmt.Fprintf(stderr, "lab run: --agent-token-file: %v\n", terr)
		return exitUsage
	}
	defer procs.Govern()() // the lab's own Go code on as few cores as it needs (internal/procs)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	var runDir string // set once the run has a directory: the in-process agents' files go there
	token, stopAgents, ok := agentsForRun(ctx, "lab run", fs, *inProcess, st, *isolate, token, logger, stderr, &runDir)
	if !ok {
		return exitUsage
	}
	defer stopAgents()
	opts := lab.RunOptions{
		Scenario: sc, Stack: st, Speed: *speed, Seed: *seed, Driver: *driver, RunsDir: *out, Console: stdout, SimplyDone: selfSimplyDone(), Isolate: *isolate, AgentToken: token,
		Logger: logger,
	}
	if *driver == lab.DriverDocker {
		if _, _, err := lab.ResolveDriver(ctx, *driver); err != nil {
			fmt.Fprintf(stderr, "lab run: %v\n", err)
			return exitUsage
		}
	}
	stopProfile, perr := startCPUProfile(*cpuprofile)
	if perr != nil {
		fmt.Fprintf(stderr, "lab run: %v\n", perr)
		return exitUsage
	}
	var (
		sum *lab.Summary
		err error
	)
	if f, ok := stdout.(*os.File); ok && !*noTUI && term.IsTerminal(f.Fd()) {
		sum, err = runWithTUI(ctx, opts, f)
	} else {
		finish := tui.Broadcast(&opts) // lab watch can attach to a plain run too
		sum, err = lab.Run(ctx, opts)
		finish(sum, err)
	}
	if perr := stopProfile(); perr != nil {
		fmt.Fprintf(stderr, "lab run: %v\n", perr)
	}
	if sum == nil {
		fmt.Fprintf(stderr, "lab run: %v\n", err)
		if live := (*lab.LiveRunError)(nil); errors.As(err, &live) {
			return exitUsage // refused at once: nothing of the live run was touched
		}
		if errors.As(err, new(*lab.PreflightError)) {
			return exitUsage // nothing started: the stack's instances could not launch
		}
		if errors.As(err, new(*lab.DirError)) {
			return exitUsage // nothing started: a directory the lab will not use
		}
		return exitFailed
	}
	runDir = filepath.Join(*out, sum.RunID)
	sf.record(runDir, stderr)
	sum.WriteText(stdout)
	if le := (*lab.LaunchError)(nil); errors.As(err, &le) {
		fmt.Fprintf(stderr, "lab run: %v\n", le)
		return exitUsage // not one instance of the stack could launch: fix the stack
	}
	if err != nil {
		fmt.Fprintf(stderr, "lab run: writing the summary: %v\n", err)
	}
	fmt.Fprintf(stdout, "\nReport: %s\n", filepath.Join(*out, sum.RunID, "report.html"))
	if sc.ExpectsFail() {
		if lab.AsExpected(sc, sum) {
			fmt.Fprintf(stdout, "\nFAIL is what %s expects: it demonstrates the failure its SLOs describe.\n", sc.Name)
			return exitOK
		}
		if sum.Verdict == lab.Pass {
			fmt.Fprintf(stdout, "\n%s expects FAIL (it demonstrates a failure), but every SLO held.\n", sc.Name)
			return exitFailed
		}
	}
	switch sum.Verdict {
	case lab.Pass:
		return exitOK
	case lab.Invalid:
		return exitInvalid
	case lab.Interrupted:
		return exitInterrupted
	}
	return exitFailed
}

// reorder puts flags before the positional argument, so that both
// `lab run flash-sale --speed 20` and `lab run --speed 20 flash-sale` work.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && !isBoolFlag(fs, a) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(flags, rest...)
}

// isBoolFlag reports whether arg (-name or --name) is a boolean flag of fs,
// which takes no separate value.
func isBoolFlag(fs *flag.FlagSet, arg string) bool {
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// resolveScenario loads a scenario (a built-in name or a file) and its
// stack, and checks a --speed given on the command line; what is wrong goes
// to stderr.
func resolveScenario(cmd, name string, speed float64, stderr io.Writer) (*scenarios.Scenario, *stack.Stack, bool) {
	sc, err := scenarios.Resolve(name)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, false
	}
	st, err := sc.ResolveStack()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, false
	}
	if speed != 0 && (speed < 1 || speed > 1000) {
		fmt.Fprintf(stderr, "lab %s: --speed %g: allowed 1 to 1000\n", cmd, speed)
		return nil, nil, false
	}
	return sc, st, true
}
