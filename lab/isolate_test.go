package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/runns"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/stack"
)

// An isolated run (--isolate): SimplyDone runs in the run's own network
// namespace, is health-checked and served through the nodes as on the
// host's network, and the namespace goes when the run ends.
func TestIsolatedRunServesThroughItsNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("--isolate needs root")
	}
	t.Run("process", func(t *testing.T) { isolatedRun(t, DriverProcess, 18537) })
	t.Run("docker", func(t *testing.T) {
		if _, _, err := ResolveDriver(context.Background(), DriverDocker); err != nil {
			t.Skipf("no Docker engine: %v", err)
		}
		// The Docker runtime builds SimplyDone's image from the binary it finds on PATH.
		t.Setenv("PATH", filepath.Dir(simplydone)+string(os.PathListSeparator)+os.Getenv("PATH"))
		isolatedRun(t, DriverDocker, 18539)
	})
}

func isolatedRun(t *testing.T, driver string, port int) {
	s, err := stack.Parse("iso.yaml", []byte(fmt.Sprintf(`name: iso
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
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`, port, port, simplydone)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notes []string
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 3, RunsDir: t.TempDir(), StateDir: t.TempDir(), Isolate: true, Driver: driver,
		Subscribers: []events.Handler{func(e events.Envelope) {
			if n, ok := e.Event.(Note); ok {
				mu.Lock()
				notes = append(notes, n.Text)
				mu.Unlock()
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Driver != driver {
		t.Fatalf("the run uses %s, want %s", l.Driver, driver)
	}
	ns := filepath.Join(runns.Dir, runns.Name(l.RunID))
	if _, err := os.Lstat(ns); driver == DriverProcess && err != nil {
		t.Fatalf("the run's namespace: %v", err)
	}
	waitFor(t, "both instances in service and healthy on every node", 30*time.Second, func() bool {
		ins := l.Instances()
		if len(ins) != 2 {
			return false
		}
		for _, in := range ins {
			if in.State != "InService" || !everyNodeSees(l.LB, in.ID, alb.StateHealthy) {
				return false
			}
		}
		return true
	})
	// the instances are not on the host's network
	for _, in := range l.Instances() {
		if c, err := (&http.Client{Timeout: time.Second}).Get("http://" + in.Addr.String() + "/health"); err == nil {
			c.Body.Close()
			t.Errorf("instance %s answered at %s on the host's network", in.ID, in.Addr)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, n := range l.LB.Nodes() {
		resp, err := client.Get(n.URL() + "/health")
		if err != nil {
			t.Fatalf("node %s: %v", n.Zone(), err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("node %s: %d, want 200 from an instance in the namespace", n.Zone(), resp.StatusCode)
		}
	}
	mu.Lock()
	said := strings.Join(notes, "\n")
	mu.Unlock()
	want := "Network: instances run in the network namespace " + runns.Name(l.RunID)
	if driver == DriverDocker {
		want = "Network: each instance's container has a network namespace of its own"
	}
	if !strings.Contains(said, want) {
		t.Errorf("the run did not say where its instances' network is; notes:\n%s", said)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(ns); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run's namespace is left after Close: %v", err)
	}
}
