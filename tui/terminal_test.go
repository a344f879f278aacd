package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// terminalStack is cmd/lab's test stack (a heavier request cost, so that a
// modest rate drives real scaling) on its own port.
const terminalStack = `name: itest
availability_zones: [us-east-1a, us-east-1b, us-east-1c]
load_balancer: {listener: {port: 18495}, idle_timeout: 60s}
target_group:
  port: 18495
  deregistration_delay: 30s
  health_check: {path: /health, interval: 30s, timeout: 5s, healthy_threshold: 5, unhealthy_threshold: 2}
launch_template:
  command: [simplydone]
  instance_type: t3.micro
  environment: {SIMPLYDONE_CPU_COST: 8ms}
  boot_time: 20s
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

// terminalScenario is cmd/lab's compressed flash sale with the kill a
// little earlier; the test quits once it has seen the scale-out and the kill.
const terminalScenario = `name: tui-flash-sale
stack: stack.yaml
speed: 20
seed: 7
load:
  phases:
    - {name: calm, duration: 2m, rate: 10}
    - {name: rise, duration: 1m, from: 10, to: 45}
    - {name: peak, duration: 8m, rate: 45}
    - {name: after, duration: 4m, rate: 4}
chaos:
  - {at: 7m, action: kill-instance}
slos:
  - success_rate >= 95%
  - p99 <= 1s
  - max_in_service <= 6
  - lost_writes == 0
`

// TestRealTerminal runs a flash sale with the live view in a real terminal
// (tmux, 160x48): the screen must show the group scaling out and the chaos
// kill; q must stop the run, close the view, print the summary, and leave
// no process behind. It drives tui/internal/tuilab, which calls the same
// tui.Run that `lab run` calls through runWithTUI.
func TestRealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute and a half of real load")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install -y tmux)")
	}
	dir := t.TempDir()
	for name, pkg := range map[string]string{"tuilab": "github.com/simplydone/lab/tui/internal/tuilab", "simplydone": "github.com/simplydone/lab/cmd/simplydone"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	for name, body := range map[string]string{"stack.yaml": terminalStack, "sale.yaml": terminalScenario} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runs := filepath.Join(dir, "runs")
	sock := fmt.Sprintf("lab-tui-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Logf("tmux %v: %v %s", args, err, out)
		}
		return string(out)
	}
	script := fmt.Sprintf("cd %s && ./tuilab sale.yaml %s; echo \"tuilab exited $?\"; sleep 600", dir, runs)
	tmux("new-session", "-d", "-x", "160", "-y", "48", "-s", "lab", "sh", "-c", script)
	defer tmux("kill-server")

	screen := func() string { return tmux("capture-pane", "-p", "-t", "lab") }
	desired := regexp.MustCompile(`desired (\d+)`)
	var scaled, killed bool
	var middle string
	deadline := time.Now().Add(4 * time.Minute)
	for !(scaled && killed) {
		if time.Now().After(deadline) {
			t.Fatalf("no scale-out (%v) or no kill (%v) on screen within 4 minutes; last screen:\n%s", scaled, killed, screen())
		}
		time.Sleep(500 * time.Millisecond)
		s := screen()
		if strings.Contains(s, "tuilab exited") {
			t.Fatalf("tuilab ended early:\n%s", s)
		}
		if m := desired.FindStringSubmatch(s); m != nil {
			if n, _ := strconv.Atoi(m[1]); n >= 3 && strings.Contains(s, "Auto Scaling group") {
				scaled = true
			}
		}
		if strings.Contains(s, "kill-instance on i-") {
			killed = true
			middle = s
		}
	}
	t.Logf("the screen in the middle of the run:\n%s", middle)

	// the chaos filter keeps the kill on screen; the injection is the
	// oldest chaos event (its "revert" follows it), and enter says why
	tmux("send-keys", "-t", "lab", "5")
	tmux("send-keys", "-t", "lab", "Home")
	tmux("send-keys", "-t", "lab", "Enter")
	time.Sleep(time.Second)
	if s := screen(); !strings.Contains(s, "from the scenario's chaos timeline: kill-instance") {
		t.Errorf("why of the kill not shown:\n%s", s)
	}

	tmux("send-keys", "-t", "lab", "q")
	var s string
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if s = screen(); strings.Contains(s, "tuilab exited") {
			break
		}
	}
	if !strings.Contains(s, "tuilab exited 130") || !strings.Contains(s, "INTERRUPTED") {
		t.Fatalf("after q: no summary or wrong exit:\n%s", s)
	}
	entries, err := os.ReadDir(runs)
	if err != nil || len(entries) != 1 {
		t.Fatalf("run directories: %v %v", entries, err)
	}
	raw, err := os.ReadFile(filepath.Join(runs, entries[0].Name(), "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		RunID   string `json:"run_id"`
		Verdict string `json:"verdict"`
		Faults  struct{ Injected, Reverted int }
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != "INTERRUPTED" || sum.Faults.Injected != sum.Faults.Reverted {
		t.Errorf("summary: %+v", sum)
	}
	if left := processesOf(sum.RunID); len(left) > 0 {
		t.Errorf("processes of run %s outlived it: %v", sum.RunID, left)
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
