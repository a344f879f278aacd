package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// A stack whose instances each keep their own database (a data directory of
// their own under the run's): every create is acknowledged, ids are handed
// out again by each instance, and the writes the instance read back does not
// hold are lost. The run counts them by id and title and fails lost_writes.
func TestRunCountsWritesLostToSeparateDatabases(t *testing.T) {
	const port = 18531
	// As root, instances run as nobody: the program the shell starts must be
	// in a directory nobody can search (the test binary's is 0700).
	bin := filepath.Join(t.TempDir(), "simplydone")
	if err := copyFile(simplydone, bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(bin)), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := stack.Parse("separate.yaml", []byte(fmt.Sprintf(`name: separate
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [sh, -c, 'exec "$0" -data-dir "$LAB_DATA_DIR/$LAB_INSTANCE_ID"', %q]
  pending_time: 0s
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`, port, port, bin)))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("separate.yaml", []byte(`name: separate
stack: simplydone
speed: 20
load:
  mix: {create: 8, list: 2}
  phases: [{name: writes, duration: 2m, rate: 20}]
slos: [lost_writes == 0, success_rate >= 99%]
`))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s (%s): %d acknowledged, %d lost", sum.Verdict, sum.Reason, sum.AcknowledgedWrites, sum.LostWrites)
	if sum.AcknowledgedWrites < 50 {
		t.Fatalf("%d writes acknowledged; want at least 50", sum.AcknowledgedWrites)
	}
	if sum.LostWrites < sum.AcknowledgedWrites/4 || sum.LostWrites >= sum.AcknowledgedWrites {
		t.Errorf("%d of %d writes lost; want about half (those the other instance kept)", sum.LostWrites, sum.AcknowledgedWrites)
	}
	if sum.Verdict != Fail || sum.Reason != sloBreached || !sloFailed(sum, "lost_writes == 0") {
		t.Errorf("verdict %s (%s); want FAIL on lost_writes == 0", sum.Verdict, sum.Reason)
	}
}

func sloFailed(sum *Summary, expr string) bool {
	for _, r := range sum.SLOs {
		if r.Expr == expr {
			return !r.Pass
		}
	}
	return false
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// A service that answers 201 to creates without an id and title: the run
// cannot say whether those writes were kept, so it is INVALID, not 0 lost.
func TestUnreadableAcknowledgementsMakeTheRunInvalid(t *testing.T) {
	const port = 18532
	bin := filepath.Join(t.TempDir(), "badcreate")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/badcreate").CombinedOutput(); err != nil {
		t.Fatalf("build badcreate: %v\n%s", err, out)
	}
	s, err := stack.Parse("bad.yaml", []byte(fmt.Sprintf(`name: bad
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [%q]
  pending_time: 0s
auto_scaling_group: {min_size: 1, max_size: 1, desired_capacity: 1}
`, port, port, bin)))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("bad.yaml", []byte(`name: bad
stack: simplydone
speed: 20
load:
  mix: {create: 1}
  phases: [{name: writes, duration: 1m, rate: 10}]
slos: [lost_writes == 0]
`))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s: %s", sum.Verdict, sum.Reason)
	if sum.Verdict != Invalid || !strings.Contains(sum.Reason, "create(s) were answered 201 Created without a todo id and title the lab could read") {
		t.Errorf("verdict %s (%s); want INVALID for unreadable acknowledgements", sum.Verdict, sum.Reason)
	}
}
