package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
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

// testStack is three zones with one SimplyDone instance each, on a port of
// its own so that it never meets a lab a person is running.
func testStack(t *testing.T, port int) *stack.Stack {
	t.Helper()
	return testStackWith(t, port, 3, "")
}

// testStackWith is testStack with the group's max_size and more of the
// stack file (scaling policies) after it.
func testStackWith(t *testing.T, port, maxSize int, more string) *stack.Stack {
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
auto_scaling_group: {min_size: 3, max_size: %d, desired_capacity: 3}
`, port, port, simplydone, maxSize) + more
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
func everyNodeSees(lb *alb.LoadBalancer, id az.InstanceID, s alb.State) bool {
	for _, n := range lb.Nodes() {
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

// TestKilledProcessIsMarkedUnhealthyAndRoutedAround is the foundation's
// integration test: three zones with one real SimplyDone process each behind
// the ALB, and no Auto Scaling group to hide what the load balancer does.
func TestKilledProcessIsMarkedUnhealthyAndRoutedAround(t *testing.T) {
	s := testStack(t, 18480)
	c, _ := clock.NewScaled(20)
	bus := events.NewBus(c)
	defer bus.Close()
	zones, _ := az.NewZones(s.Zones)
	lb, err := alb.New(albConfig(s, zones, c, bus))
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	rt, err := process.New(process.Options{RunID: "itest-alb", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	typ, _ := az.LookupInstanceType("t3.micro")
	data := t.TempDir()
	var ids []az.InstanceID
	var pids []int
	for i, z := range zones {
		id := az.InstanceID(fmt.Sprintf("i-0000000000000000%d", i))
		addr := netip.AddrFrom4([4]byte{127, 0, byte(z.Index), 10})
		in, err := rt.Launch(context.Background(), az.Spec{ID: id, Zone: z, Addr: addr, Port: 18480, Type: typ,
			Command: []string{simplydone}, DataDir: data, RunID: "itest-alb"})
		if err != nil {
			t.Fatal(err)
		}
		if err := lb.Register(id, z.Name, netip.AddrPortFrom(addr, 18480)); err != nil {
			t.Fatal(err)
		}
		ids, pids = append(ids, id), append(pids, in.PID)
	}
	for _, id := range ids {
		waitFor(t, string(id)+" healthy", 20*time.Second, func() bool { return everyNodeSees(lb, id, alb.StateHealthy) })
	}
	var urls []string
	for _, n := range lb.Nodes() {
		urls = append(urls, n.URL())
	}
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

	victim := ids[1]
	if err := syscall.Kill(pids[1], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed instance marked unhealthy by every node", 20*time.Second, func() bool {
		return everyNodeSees(lb, victim, alb.StateUnhealthy)
	})
	if h := lb.Health(victim)["us-east-1a"]; h.Reason != alb.ReasonFailedHealthChecks {
		t.Fatalf("reason %s, want Target.FailedHealthChecks", h)
	}
	for _, u := range urls {
		for i := 0; i < 6; i++ {
			code, by := servedBy(t, u)
			if code != 200 || by == string(victim) {
				t.Fatalf("after the mark, %s answered %d from %q", u, code, by)
			}
		}
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for i, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("instance %s (pid %d) outlived Close: %v", ids[i], pid, err)
		}
	}
}

// TestGroupReplacesKilledInstance runs the whole lab: the Auto Scaling
// group's EC2 health check replaces a killed instance, and Close leaves
// nothing behind.
func TestGroupReplacesKilledInstance(t *testing.T) {
	s := testStack(t, 18481)
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverProcess})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// EC2 keeps new instances pending (launch_template.pending_time) before
	// they run: wait for the group to be InService, as lab run does.
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	ins := l.Instances()
	if len(ins) != 3 || ins[0].Zone == ins[1].Zone || ins[1].Zone == ins[2].Zone || ins[0].Zone == ins[2].Zone {
		t.Fatalf("want one instance in each of three zones, got %+v", ins)
	}
	victim := ins[1]
	if victim.PID <= 0 {
		t.Fatalf("instance %s has no pid (%d): not a process", victim.ID, victim.PID)
	}
	if err := l.Runtime.Kill(context.Background(), victim.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a replacement in service and healthy", 20*time.Second, func() bool {
		now := l.Instances()
		if len(now) != 3 {
			return false
		}
		for _, in := range now {
			if in.ID == victim.ID || in.State != "InService" || !everyNodeSees(l.LB, in.ID, alb.StateHealthy) {
				return false
			}
		}
		return true
	})
	all := append(ins, l.Instances()...)
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, in := range all {
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
	for _, want := range []string{`"type":"ScalingActivity"`, "EC2 health check indicating it has been terminated or stopped", `"type":"RunStopped"`} {
		if !strings.Contains(string(journal), want) {
			t.Errorf("journal lacks %s", want)
		}
	}
}
