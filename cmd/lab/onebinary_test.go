package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/buildinfo"
	"github.com/simplydone/lab/lab"
)

// launchStack is a small, quick stack: two zones, no pending time, fast
// health checks; %d is its port, %s its launch template command.
const launchStack = `name: launches
availability_zones: [us-east-1a, us-east-1b]
load_balancer: {listener: {port: %d}}
target_group:
  port: %d
  deregistration_delay: 0s
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: %s
  instance_type: t3.micro
  pending_time: 0s
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`

const launchScenario = `name: launches
stack: stack.yaml
speed: 20
load:
  phases: [{name: steady, duration: 1m, rate: 5}]
slos: [success_rate >= 99%, lost_writes == 0]
`

// TestGoBuildIsAllANewUserNeeds builds cmd/lab as a new user does (plain
// go build, whatever CGO setting the machine has) into a directory of its
// own, with no simplydone beside it and none on PATH, and runs a scenario
// on the process runtime: the instances are the lab's own binary
// (`lab simplydone`), so it passes. `lab version` says what was built.
func TestGoBuildIsAllANewUserNeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("a go build and a few seconds of real instances")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lab")
	build := exec.Command("go", "build", "-o", bin, "github.com/simplydone/lab/cmd/lab")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CGO_ENABLED=") { // the machine's default, as for a new user
			build.Env = append(build.Env, kv)
		}
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := "/usr/bin:/bin"
	for _, d := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(d, "simplydone")); err == nil {
			t.Fatalf("%s/simplydone exists: the test cannot show the lab runs without one", d)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the build directory holds %v, want the lab alone", entries)
	}
	env := []string{"PATH=" + path, "HOME=" + dir}
	labCmd := func(ctx context.Context, args ...string) (int, string, string) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = dir, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatalf("run %s: %v", bin, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	code, out, _ := labCmd(ctx, "version")
	if code != 0 || !strings.HasPrefix(out, "lab ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "built with go1.") {
		t.Fatalf("lab version: exit %d %q", code, out)
	}
	t.Logf("lab version: %s", strings.TrimSpace(out))

	write(t, dir, "stack.yaml", fmt.Sprintf(launchStack, 18720, 18720, "[simplydone]"))
	write(t, dir, "sc.yaml", launchScenario)
	start := time.Now()
	code, out, stderr := labCmd(ctx, "run", "sc.yaml", "--driver", "process", "--no-tui", "--out", "runs")
	t.Logf("lab run: exit %d after %s", code, time.Since(start).Round(time.Millisecond))
	if code != exitOK || !strings.Contains(out, "PASS  launches") {
		t.Fatalf("exit %d, want 0 (PASS)\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(out, "Failed:") {
		t.Fatalf("a launch failed:\n%s", out)
	}

	// The Docker runtime builds SimplyDone's image from this binary: a
	// dynamically linked one is refused before anything starts, saying how
	// to get a static one.
	dynamic, err := buildinfo.Dynamic(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lab.ResolveDriver(ctx, lab.DriverDocker); err != nil || !dynamic {
		t.Logf("no Docker engine (%v) or a static build (%v): the refusal is not shown", err, !dynamic)
		return
	}
	code, _, stderr = labCmd(ctx, "run", "sc.yaml", "--driver", "docker", "--no-tui", "--out", "runs-docker")
	if code != exitUsage || !strings.Contains(stderr, "dynamically linked") || !strings.Contains(stderr, "CGO_ENABLED=0 go ") {
		t.Fatalf("--driver docker with a dynamic lab: exit %d, want 2 with how to get a static build\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs-docker")); err == nil {
		t.Fatal("the refused run made a run directory: something started")
	}
}

// TestCommandThatDoesNotResolveIsRefusedBeforeAnythingStarts: lab run and
// lab up check the instance command first and exit 2 naming it.
func TestCommandThatDoesNotResolveIsRefusedBeforeAnythingStarts(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "stack.yaml", fmt.Sprintf(launchStack, 18721, 18721, "[no-such-program-onebinary]"))
	sc := write(t, dir, "sc.yaml", launchScenario)
	runs := filepath.Join(dir, "runs")
	for _, args := range [][]string{
		{"run", sc, "--driver", "process", "--out", runs},
		{"up", "--stack", filepath.Join(dir, "stack.yaml"), "--runs-dir", runs},
	} {
		code, out, stderr := runLab(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "launch_template.command") || !strings.Contains(stderr, `"no-such-program-onebinary"`) ||
			!strings.Contains(stderr, "not on PATH") {
			t.Errorf("lab %s: exit %d, want 2 naming the command\nstdout:\n%s\nstderr:\n%s", args[0], code, out, stderr)
		}
		if !regexp.MustCompile(`stack\.yaml:\d+:\d+: launch_template\.command: `).MatchString(stderr) {
			t.Errorf("lab %s: the refusal does not lead with the command's FILE:LINE:COL\n%s", args[0], stderr)
		}
		if _, err := os.Stat(runs); err == nil {
			t.Errorf("lab %s made a run directory: something started", args[0])
		}
	}
}

// TestInstancesThatExitAtOnceStopTheRunWithExit2: SimplyDone given a flag
// it does not know exits at once; every launch fails, each is a Failed
// Launch activity in AWS's words with the program's own words (console and
// journal), and the run stops with exit 2 well within a wall minute instead
// of waiting out its 15-minute readiness timeout.
func TestInstancesThatExitAtOnceStopTheRunWithExit2(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "stack.yaml", fmt.Sprintf(launchStack, 18722, 18722, "[simplydone, --no-such-flag]"))
	sc := write(t, dir, "sc.yaml", launchScenario)
	runs := filepath.Join(dir, "runs")
	start := time.Now()
	code, out, stderr := runLab(t, "run", sc, "--driver", "process", "--out", runs)
	took := time.Since(start)
	t.Logf("exit %d after %s", code, took.Round(time.Millisecond))
	if code != exitUsage || took > time.Minute {
		t.Fatalf("exit %d after %s, want 2 within a minute\n%s\n%s", code, took, out, stderr)
	}
	for _, want := range []string{
		"Failed: Launching a new EC2 instance: i-",
		"Status Reason: Instance became unhealthy while waiting for instance to be in InService state. Termination Reason: Client.InstanceInitiatedShutdown: Instance initiated shutdown",
		"its program exited on its own: simplydone: flag provided but not defined: -no-such-flag",
		"Launching EC2 instance failed. Cause: At ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the console lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "could not launch any instance") || !strings.Contains(stderr, "flag provided but not defined") {
		t.Errorf("stderr does not give the cause:\n%s", stderr)
	}
	entries, err := os.ReadDir(runs)
	if err != nil || len(entries) != 1 {
		t.Fatalf("run directories: %v %v", entries, err)
	}
	journal, err := os.ReadFile(filepath.Join(runs, entries[0].Name(), "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(journal, []byte(`"type":"ScalingActivity"`)) || !bytes.Contains(journal, []byte(`"status":"Failed"`)) ||
		!bytes.Contains(journal, []byte(`"status_message":"Instance became unhealthy`)) {
		t.Errorf("the journal lacks the failed activity:\n%s", journal)
	}
	if left := processesOf(entries[0].Name()); len(left) > 0 {
		t.Errorf("processes of the run outlived it: %v", left)
	}
	// The log the console points to is in the run's directory (the
	// zone's agent's, moved there when the run ended).
	if m := regexp.MustCompile(`-no-such-flag; see (\S+\.log)`).FindStringSubmatch(out); m == nil {
		t.Errorf("the console does not point to the instance's log:\n%s", out)
	} else if b, err := os.ReadFile(filepath.Join(runs, entries[0].Name(), m[1])); err != nil || !bytes.Contains(b, []byte("-no-such-flag")) {
		t.Errorf("the log the console points to, %s: %v\n%s", m[1], err, b)
	}

	// lab up stops the same way rather than serving nothing until Ctrl-C.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var upOut, upErr syncBuffer // the runtime's logger and the console write from their own goroutines
	start = time.Now()
	code = run(ctx, []string{"up", "--stack", filepath.Join(dir, "stack.yaml"), "--speed", "20", "--driver", "process", "--runs-dir", filepath.Join(dir, "up")}, &upOut, &upErr)
	took = time.Since(start)
	t.Logf("lab up: exit %d after %s", code, took.Round(time.Millisecond))
	if code != exitUsage || took > time.Minute || !strings.Contains(upOut.String(), "Failed: Launching a new EC2 instance: i-") ||
		!strings.Contains(upErr.String(), "could not launch any instance") {
		t.Fatalf("lab up: exit %d after %s, want 2 within a minute with the failed launches\n%s\n%s", code, took, upOut.String(), upErr.String())
	}
}

// TestSimplyDoneIsAHiddenSubcommand: `lab simplydone` is SimplyDone's own
// command line (its flags and exit status), and the usage does not list it.
func TestSimplyDoneIsAHiddenSubcommand(t *testing.T) {
	if code, _, _ := runLab(t, "simplydone", "--no-such-flag"); code != 1 {
		t.Fatalf("lab simplydone --no-such-flag: exit %d, want SimplyDone's 1", code)
	}
	_, out, _ := runLab(t, "help")
	if strings.Contains(out, "lab simplydone") || strings.Contains(out, "lab hog") {
		t.Fatalf("the usage lists the hidden subcommand:\n%s", out)
	}
	if code, out, _ := runLab(t, "version"); code != exitOK || !strings.HasPrefix(out, "lab ") || !strings.Contains(out, "built with go") {
		t.Fatalf("lab version: exit %d %q", code, out)
	}
}
