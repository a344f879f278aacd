package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/longtest"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/rundir"
)

// labBin is the lab built once, static (CGO_ENABLED=0), for these tests:
// the in-process runs take it as their own executable, so `command:
// [simplydone]` runs `labBin simplydone` (and the Docker runtime builds
// SimplyDone's image from it), as an installed lab does. Nothing named
// simplydone is on PATH.
var labBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lab-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	labBin = filepath.Join(dir, "lab")
	build := exec.Command("go", "build", "-o", labBin, "github.com/simplydone/lab/cmd/lab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build lab: %v\n%s", err, out)
		os.Exit(1)
	}
	selfExecutable = func() (string, error) { return labBin, nil }
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateReportsEveryProblemAndExits2(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", `name: x
target_group:
  port: 8080
  health_check: {interval: 2s, matcher: "600"}
launch_template: {command: [simplydone]}
auto_scaling_group: {min_size: 3, max_size: 2}
`)
	code, _, stderr := runLab(t, "validate", bad)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{
		bad + ":4:28: target_group.health_check.interval: 2s is below AWS's minimum of 5s",
		"target_group.health_check.matcher",
		"auto_scaling_group.min_size",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, out, _ := runLab(t, "validate", "../../stack/builtin/simplydone.yaml"); code != exitOK || !strings.Contains(out, "valid") {
		t.Fatalf("the built-in stack: exit %d %q", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"run"}, {"run", "no-such-scenario"}, {"run", "flash-sale", "--driver", "vm"}, {"up", "--driver", "vm"}} {
		if code, _, _ := runLab(t, args...); code != exitUsage {
			t.Errorf("lab %v: exit %d, want 2", args, code)
		}
	}
}

// A runs directory the lab will not use (here a symbolic link) is bad
// usage: exit 2, said once, and nothing is created through the link.
func TestSymlinkedRunsDirExits2(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real"), filepath.Join(dir, "link")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	stackFile := write(t, dir, "stack.yaml", fmt.Sprintf(testStack, 18497, 18497))
	for _, args := range [][]string{{"up", "--stack", stackFile, "--runs-dir", link, "--driver", "process"}} {
		code, _, stderr := runLab(t, args...)
		if code != exitUsage || strings.Count(stderr, "runs directory") != 1 || !strings.Contains(stderr, "symbolic link") {
			t.Errorf("lab %v: exit %d, want 2 with one refusal naming the link; stderr:\n%s", args, code, stderr)
		}
	}
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Errorf("the link's target got %d entries", len(ents))
	}
}

func TestScenariosListsTheBuiltIns(t *testing.T) {
	code, out, _ := runLab(t, "scenarios")
	if code != exitOK || !strings.Contains(out, "flash-sale") || !strings.Contains(out, "maintenance-reboot") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestMalformedScenarioExits2WithItsErrors(t *testing.T) {
	dir := t.TempDir()
	sc := write(t, dir, "broken.yaml", `name: broken
stack: simplydone
speeed: 10
load:
  phases:
    - {name: calm, duration: -1m, rate: 20}
slos:
  - p99 <= 5%
`)
	code, _, stderr := runLab(t, "run", sc)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{sc + ":3:1: speeed", "duration", "p99"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// testStack is the simplydone stack with a heavier request cost, so that a
// modest request rate (cheap for the load generator) drives real scaling.
const testStack = `name: itest
availability_zones: [us-east-1a, us-east-1b, us-east-1c]
load_balancer: {listener: {port: %d}, idle_timeout: 60s}
target_group:
  port: %d
  deregistration_delay: 30s
  health_check: {path: /health, interval: 30s, timeout: 5s, healthy_threshold: 5, unhealthy_threshold: 2}
launch_template:
  command: [simplydone]
  instance_type: t3.micro
  environment: {SIMPLYDONE_CPU_COST: 8ms}
  boot_time: 20s
  monitoring: detailed
auto_scaling_group:
  min_size: 1
  max_size: 6
  desired_capacity: 2
  health_check_type: ELB
  health_check_grace_period: 300s
  default_instance_warmup: 60s
scaling_policies:
  - name: cpu-high
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_lower_bound: 0, scaling_adjustment: 1}]
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: GreaterThanThreshold, threshold: 80, period: 60s, evaluation_periods: 1}
  - name: cpu-low
    policy_type: StepScaling
    adjustment_type: ChangeInCapacity
    step_adjustments: [{metric_interval_upper_bound: 0, scaling_adjustment: -1}]
    alarm: {metric_name: CPUUtilization, namespace: AWS/EC2, statistic: Average, comparison_operator: LessThanThreshold, threshold: 10, period: 60s, evaluation_periods: 2}
`

func TestImpossibleSLOExits1(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "stack.yaml", fmt.Sprintf(testStack, 18490, 18490))
	sc := write(t, dir, "impossible.yaml", `name: impossible
stack: stack.yaml
speed: 50
load:
  phases: [{name: steady, duration: 1m, rate: 10}]
slos: [requests >= 1000000]
`)
	code, out, stderr := runLab(t, "run", sc, "--out", filepath.Join(dir, "runs"))
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "FAIL") || !strings.Contains(out, "✗ requests >= 1000000") {
		t.Fatalf("summary does not show the breach:\n%s", out)
	}
}

// TestCompressedFlashSale runs a whole flash sale at speed 20 on each
// runtime: it must scale out, replace the killed instance, scale back in,
// lose no write, pass, and leave nothing running.
func TestCompressedFlashSale(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute and a half of real load per runtime")
	}
	// The default: each zone on a lab agent of its own in the lab's
	// process, driven through the agents' API.
	t.Run("process", func(t *testing.T) {
		state := t.TempDir()
		t.Setenv("XDG_STATE_HOME", state) // the agents' state directories
		out, s, runDir := compressedFlashSale(t, lab.DriverProcess, 18491)
		// What each agent kept of the run (its instances' logs, its node's
		// access log) is moved into the run's directory, and nothing is
		// left in the lab's state directory.
		for _, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			if _, err := os.Stat(filepath.Join(runDir, "agents", z, "access.log")); err != nil {
				t.Errorf("zone %s's agent's files are not in the run's directory: %v", z, err)
			}
		}
		if left, _ := os.ReadDir(lab.InProcessAgentsDir(filepath.Join(state, "lab"))); len(left) > 0 {
			t.Errorf("the agents' directories were left in the state directory: %v", left)
		}
		if s.WritesNotChecked != "" {
			t.Errorf("writes not checked (%s): the agents in the lab's process share its host and its store", s.WritesNotChecked)
		}
		if strings.Contains(out, "no instance ran on this host") {
			t.Errorf("the host's contention was not measured: the agents' instances run on this host:\n%s", out)
		}
		checkLabProcs(t, runDir)
		for i, z := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			said := fmt.Sprintf("Zone %s: its instances and its load balancer node (127.0.%d.1) run on agent 127.0.%d.250:", z, i+1, i+1)
			if !strings.Contains(out, said) {
				t.Errorf("the run did not say %q:\n%s", said, out)
			}
		}
	})
	t.Run("docker", func(t *testing.T) {
		if _, _, err := lab.ResolveDriver(context.Background(), lab.DriverDocker); err != nil {
			if os.Getenv("LAB_REQUIRE_DOCKER") == "1" {
				t.Fatalf("LAB_REQUIRE_DOCKER=1 but %v", err)
			}
			t.Skipf("no Docker engine: %v", err)
		}
		longtest.Skip(t, "the flash sale again on Docker; TestRollingDeployLosesNoRequest/docker runs containers end to end")
		compressedFlashSale(t, lab.DriverDocker, 18493)
	})
	// The same sale with the zones as the lab's own (instances its
	// children, nodes its own): --agents-in-process=false.
	t.Run("process-without-agents", func(t *testing.T) {
		longtest.Skip(t, "the flash sale again, its zones the lab's own")
		out, _, _ := compressedFlashSale(t, lab.DriverProcess, 18494, "--agents-in-process=false")
		if strings.Contains(out, "run on agent") {
			t.Errorf("--agents-in-process=false: a zone ran on an agent:\n%s", out)
		}
	})
}

// compressedFlashSale runs a short flash sale with a kill-instance on
// driver (and the extra flags of lab run) and checks its verdict, scaling,
// writes and run directory; it returns what lab run printed, the summary and
// the run's directory.
func compressedFlashSale(t *testing.T, driver string, port int, extra ...string) (string, lab.Summary, string) {
	dir := t.TempDir()
	write(t, dir, "stack.yaml", fmt.Sprintf(testStack, port, port))
	sc := write(t, dir, "sale.yaml", `name: compressed-flash-sale
stack: stack.yaml
speed: 20
seed: 7
load:
  phases:
    - {name: calm, duration: 2m, rate: 10}
    - {name: rise, duration: 1m, from: 10, to: 45}
    - {name: peak, duration: 8m, rate: 45}
    - {name: after, duration: 10m, rate: 4}
chaos:
  - {at: 8m, action: kill-instance}
slos:
  - success_rate >= 95%
  - max_in_service <= 6
  - lost_writes == 0
`)
	runs := filepath.Join(dir, "runs")
	code, out, stderr := runLab(t, append([]string{"run", sc, "--out", runs, "--driver", driver}, extra...)...)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (PASS)\n%s\n%s", code, out, stderr)
	}
	entries, err := os.ReadDir(runs)
	if err != nil || len(entries) != 1 {
		t.Fatalf("run directories: %v %v", entries, err)
	}
	runDir := filepath.Join(runs, entries[0].Name())
	raw, err := os.ReadFile(filepath.Join(runDir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s lab.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	switch {
	case s.Driver != driver:
		t.Errorf("ran on %q, want %q", s.Driver, driver)
	case s.Verdict != lab.Pass:
		t.Errorf("verdict %s (%s)", s.Verdict, s.Reason)
	case s.InService.Max < 3:
		t.Errorf("in service at most %d, want a scale-out to at least 3", s.InService.Max)
	case s.ScalingActivities.Replacements < 1:
		t.Errorf("the killed instance was not replaced: %+v", s.ScalingActivities)
	case s.ScalingActivities.ScaleIns < 1:
		t.Errorf("no scale-in after the sale: %+v", s.ScalingActivities)
	case s.LostWrites != 0 || s.AcknowledgedWrites == 0:
		t.Errorf("writes: %d acknowledged, %d lost", s.AcknowledgedWrites, s.LostWrites)
	case s.Faults.Injected != 1 || s.Faults.Reverted != 1:
		t.Errorf("faults %+v", s.Faults)
	}
	checkScaleOutTrailsTheBreach(t, runDir, "cpu-high", 80, 2*time.Minute)
	for _, f := range []string{"events.jsonl", "seconds.jsonl", "chaos.jsonl", "stack.yaml", "scenario.yaml", "report.html"} {
		if st, err := os.Stat(filepath.Join(runDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	if t.Failed() {
		t.Logf("summary:\n%s", out)
	}
	if left := processesOf(s.RunID); len(left) > 0 {
		t.Errorf("processes of run %s outlived it: %v", s.RunID, left)
	}

	// What passed is what is promoted: the export stamps the run.
	cfn := filepath.Join(dir, "stack.cfn.yaml")
	if code, _, stderr := runLab(t, "export", "cloudformation", "--from-run", runDir, "-o", cfn); code != exitOK {
		t.Fatalf("export --from-run: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(cfn); !strings.Contains(string(b), s.RunID) || !strings.Contains(string(b), "PASS") {
		t.Errorf("the export does not name run %s and its verdict", s.RunID)
	}
	return out, s, runDir
}

// checkScaleOutTrailsTheBreach checks CloudWatch's publication delay end to
// end: the first scale-out decision of policy comes at least delay after
// the first minute in which the instances' CPU breached threshold ends.
// That minute is taken from seconds.jsonl's per-zone CPU, each a mean over
// the last AWS minute sampled once a wall second (speed AWS seconds apart):
// the first sample any zone was above threshold bounds the breach, and a
// calendar minute ending after the sample before it (less 2 s of slack for
// the journal's start) is the earliest that can have breached on the
// group's average. A minute ending between two samples is seen by neither,
// so the bound is the earlier sample, not the later.
func checkScaleOutTrailsTheBreach(t *testing.T, runDir, policy string, threshold float64, delay time.Duration) {
	t.Helper()
	var start, decision time.Time
	journal, err := os.ReadFile(filepath.Join(runDir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(journal), "\n") {
		var e struct {
			Time  time.Time `json:"time"`
			Type  string    `json:"type"`
			Event struct {
				Policy string `json:"policy"`
				From   int    `json:"from"`
				To     int    `json:"to"`
			} `json:"event"`
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch {
		case e.Type == "RunStarted" && start.IsZero():
			start = e.Time
		case e.Type == "DesiredCapacityChanged" && e.Event.Policy == policy && e.Event.To > e.Event.From && decision.IsZero():
			decision = e.Time
		}
	}
	seconds, err := os.ReadFile(filepath.Join(runDir, "seconds.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var breach time.Time
	prev := 0.0 // aws_s of the sample before
	for _, line := range strings.Split(string(seconds), "\n") {
		var s struct {
			AWS float64            `json:"aws_s"`
			CPU map[string]float64 `json:"cpu"`
		}
		if json.Unmarshal([]byte(line), &s) != nil {
			continue
		}
		for _, v := range s.CPU {
			if v > threshold && breach.IsZero() {
				breach = start.Add(time.Duration(prev*float64(time.Second)) - 2*time.Second)
			}
		}
		prev = s.AWS
	}
	if start.IsZero() || decision.IsZero() || breach.IsZero() {
		t.Fatalf("run start %v, first %s scale-out %v, first CPU above %g %v: the sale did not breach and scale out", start, policy, decision, threshold, breach)
	}
	minuteEnd := breach.Truncate(time.Minute).Add(time.Minute)
	if earliest := minuteEnd.Add(delay); decision.Before(earliest) {
		t.Errorf("first scale-out decision at %s, before %s: the breaching minute ends at %s and its datapoint is published %v later",
			decision.Format("15:04:05"), earliest.Format("15:04:05"), minuteEnd.Format("15:04:05"), delay)
	} else {
		t.Logf("CPU first above %g at %s; minute ends %s; scale-out decided at %s (%v after the minute)", threshold,
			breach.Format("15:04:05"), minuteEnd.Format("15:04:05"), decision.Format("15:04:05"), decision.Sub(minuteEnd).Round(time.Second))
	}
}

// processesOf finds live processes labelled with a run's id.
func processesOf(runID string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		env, err := os.ReadFile(p)
		if err == nil && bytes.Contains(env, []byte("LAB_RUN_ID="+runID+"\x00")) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// TestInterruptRevertsFaultsAndCleansUp cancels a run mid-way, as Ctrl-C
// does: the stopped instance's fault is reverted (through its zone's
// agent in the lab's process, the default), the summary says INTERRUPTED,
// the exit code is 130, and nothing is left running.
func TestInterruptRevertsFaultsAndCleansUp(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the agents' state directories
	interruptRun(t, 18492)
}

// TestInterruptWithoutAgents is the same Ctrl-C with the zones as the
// lab's own (--agents-in-process=false): the fault is reverted by the
// lab's runtime itself and nothing of the run is left.
func TestInterruptWithoutAgents(t *testing.T) {
	interruptRun(t, 18495, "--agents-in-process=false")
}

// interruptRun cancels a run (with lab run's extra flags) once its
// stop-instance fault is in, and checks the summary, the exit code and
// that no process of the run is left.
func interruptRun(t *testing.T, port int, extra ...string) {
	dir := t.TempDir()
	write(t, dir, "stack.yaml", fmt.Sprintf(testStack, port, port))
	sc := write(t, dir, "long.yaml", `name: long
stack: stack.yaml
speed: 20
load:
  phases: [{name: steady, duration: 60m, rate: 10}]
chaos:
  - {at: 20s, action: stop-instance, duration: 60m}
slos: [success_rate >= 50%]
`)
	runs := filepath.Join(dir, "runs")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, append([]string{"run", sc, "--out", runs}, extra...), &out, &errb) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Chaos #1: stop-instance") {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the fault was never injected:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	code := <-done
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, out.String())
	}
	s := onlySummary(t, runs)
	if s.Verdict != lab.Interrupted || s.Faults.Injected != 1 || s.Faults.Reverted != 1 {
		t.Fatalf("summary %s, faults %+v", s.Verdict, s.Faults)
	}
	if left := processesOf(s.RunID); len(left) > 0 {
		t.Fatalf("processes outlived the interrupted run: %v", left)
	}
}

// syncBuffer is a bytes.Buffer a test may read while a run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReportAndCompareFromARunDirectory(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.CopyFS(run, os.DirFS("../../report/testdata/run")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(run, "report.html"))
	if code, _, stderr := runLab(t, "report", run); code != exitOK {
		t.Fatalf("lab report: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(run, "report.html")); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Fatalf("report.html: %v", err)
	}
	out := filepath.Join(dir, "compare.html")
	code, table, stderr := runLab(t, "compare", run, run, "-o", out)
	if code != exitOK || !strings.Contains(table, "instance-hours") {
		t.Fatalf("lab compare: exit %d\n%s\n%s", code, table, stderr)
	}
	if code, _, _ := runLab(t, "report", filepath.Join(dir, "nope")); code == exitOK {
		t.Fatal("lab report on a missing directory succeeded")
	}
}

func TestDoctorReportsTheMachine(t *testing.T) {
	code, out, stderr := runLab(t, "doctor")
	if code != exitOK && code != exitFailed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"Docker", "PostgreSQL", "CPU limits", "loopback us-east-1a", "port 8080 on 127.0.1.1",
		"trusted code on this host's network", "169.254.169.254"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not report %q:\n%s", want, out)
		}
	}
}

func TestMissingUserImageIsAClearErrorBeforeAnythingStarts(t *testing.T) {
	if _, _, err := lab.ResolveDriver(context.Background(), lab.DriverDocker); err != nil {
		if os.Getenv("LAB_REQUIRE_DOCKER") == "1" {
			t.Fatalf("LAB_REQUIRE_DOCKER=1 but %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	dir := t.TempDir()
	st := strings.Replace(fmt.Sprintf(testStack, 18494, 18494), "command: [simplydone]", "image: lab/no-such-image:1", 1)
	write(t, dir, "stack.yaml", st)
	sc := write(t, dir, "s.yaml", "name: s\nstack: stack.yaml\nload:\n  phases: [{duration: 1m, rate: 1}]\nslos: [requests >= 1]\n")
	code, _, stderr := runLab(t, "run", sc, "--driver", "docker", "--out", filepath.Join(dir, "runs"))
	if code == exitOK || !strings.Contains(stderr, "lab/no-such-image:1") || !strings.Contains(stderr, "not in the Docker engine") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if left := containersOf(t, "lab/no-such-image:1"); left != "" {
		t.Fatalf("containers started anyway: %s", left)
	}
}

// containersOf lists containers of an image, through the docker CLI.
func containersOf(t *testing.T, image string) string {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "ancestor="+image).Output()
	if err != nil {
		t.Logf("docker ps: %v", err)
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestExpectedFailExitsZero runs the single-server scenario: its
// availability SLO fails, as the scenario expects (expect: FAIL), so the
// summary says FAIL and the CLI exits 0 with the demonstration explained.
func TestExpectedFailExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("fifteen wall seconds of real load")
	}
	dir := t.TempDir()
	code, out, stderr := runLab(t, "run", "single-server", "--out", filepath.Join(dir, "runs"), "--driver", "process", "--speed", "40")
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (FAIL as expected)\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"FAIL  single-server", "✗ success_rate >= 99.9%", "FAIL is what single-server expects"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// onlySummary reads the summary of the one run directory in runs.
func onlySummary(t *testing.T, runs string) lab.Summary {
	t.Helper()
	entries, err := os.ReadDir(runs)
	if err != nil || len(entries) != 1 {
		t.Fatalf("run directories: %v %v", entries, err)
	}
	raw, err := os.ReadFile(filepath.Join(runs, entries[0].Name(), "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s lab.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkLabProcs checks that every second of the run's host.jsonl says on
// how many cores the lab's own Go code could run (internal/procs governs
// it in lab run): at least one, at most the host's.
func checkLabProcs(t *testing.T, runDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, rundir.HostFile))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		var s rundir.HostSecond
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("host.jsonl: %v: %q", err, line)
		}
		if s.LabProcs < 1 || s.LabProcs > runtime.NumCPU() {
			t.Errorf("host.jsonl second %d: lab_procs %d, want 1 to %d", s.Second, s.LabProcs, runtime.NumCPU())
		}
		n++
	}
	if n == 0 {
		t.Error("host.jsonl has no second")
	}
}
