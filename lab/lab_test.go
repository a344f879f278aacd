package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

var simplydone string // the SimplyDone binary, built once for these tests

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lab-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	simplydone = filepath.Join(dir, "simplydone")
	build := exec.Command("go", "build", "-o", simplydone, "github.com/simplydone/lab/cmd/simplydone")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build simplydone: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestPickZoneBalances(t *testing.T) {
	tests := []struct {
		counts []int
		want   int
	}{
		{[]int{0, 0, 0}, 0},
		{[]int{1, 0, 0}, 1},
		{[]int{1, 1, 0}, 2},
		{[]int{2, 1, 1}, 1},
		{[]int{1, 1, 1}, 0},
	}
	for _, tt := range tests {
		if got := pickZone(tt.counts); got != tt.want {
			t.Errorf("pickZone(%v) = %d, want %d", tt.counts, got, tt.want)
		}
	}
}

// testStack is three zones with one SimplyDone instance each, on a port of
// its own so that it never meets a lab a person is running.
func testStack(t *testing.T, port int) *stack.Stack {
	t.Helper()
	src := fmt.Sprintf(`name: itest
availability_zones: [us-east-1a, us-east-1b, us-east-1c]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [%q]
  instance_type: t3.micro
auto_scaling_group: {min_size: 3, max_size: 3, desired_capacity: 3}
`, port, port, simplydone)
	s, err := stack.Parse("itest.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// everyNodeSees reports whether every node sees target id in state s.
func everyNodeSees(l *Lab, id az.InstanceID, s alb.State) bool {
	for _, n := range l.LB.Nodes() {
		if h, ok := n.Health(id); !ok || h.State != s {
			return false
		}
	}
	return true
}

func servedBy(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/api/todos")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Instance-Id")
}

func TestKilledInstanceIsMarkedUnhealthyAndRoutedAround(t *testing.T) {
	s := testStack(t, 18480)
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, RunsDir: t.TempDir(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ins := l.Instances()
	if len(ins) != 3 || ins[0].Zone == ins[1].Zone || ins[1].Zone == ins[2].Zone || ins[0].Zone == ins[2].Zone {
		t.Fatalf("want one instance in each of three zones, got %+v", ins)
	}
	for _, in := range ins {
		waitFor(t, string(in.ID)+" healthy", 20*time.Second, func() bool { return everyNodeSees(l, in.ID, alb.StateHealthy) })
	}
	urls := l.EntryURLs()
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		code, by := servedBy(t, urls[0])
		if code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		seen[by] = true
	}
	if len(seen) != 3 {
		t.Fatalf("round robin reached %v, want all three", seen)
	}

	victim := ins[1]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed instance marked unhealthy by every node", 20*time.Second, func() bool {
		return everyNodeSees(l, victim.ID, alb.StateUnhealthy)
	})
	if h := l.LB.Health(victim.ID)["us-east-1a"]; h.Reason != alb.ReasonFailedHealthChecks {
		t.Fatalf("reason %s, want Target.FailedHealthChecks", h)
	}
	for _, u := range urls {
		for i := 0; i < 6; i++ {
			code, by := servedBy(t, u)
			if code != 200 || by == string(victim.ID) {
				t.Fatalf("after the mark, %s answered %d from %q", u, code, by)
			}
		}
	}

	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, in := range ins {
		if err := syscall.Kill(in.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("instance %s (pid %d) outlived Close: %v", in.ID, in.PID, err)
		}
	}
	if cg, err := os.ReadDir("/sys/fs/cgroup/cpu"); err == nil {
		for _, e := range cg {
			if strings.Contains(e.Name(), l.RunID) {
				t.Errorf("cgroup %s outlived Close", e.Name())
			}
		}
	}
	journal, err := os.ReadFile(filepath.Join(l.Dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"InstanceLaunched"`, `"reason":"Target.FailedHealthChecks"`, `"type":"RunStopped"`} {
		if !strings.Contains(string(journal), want) {
			t.Errorf("journal lacks %s", want)
		}
	}
}
