package lab

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/stack"
)

// A run that crashed on Docker left a container; the next run uses the
// process driver, and still reaps it (the run is dead by its lock).
func TestProcessRunReapsADeadRunsContainers(t *testing.T) {
	if _, _, err := ResolveDriver(context.Background(), DriverDocker); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	// The Docker runtime builds SimplyDone's image from the binary it finds on PATH.
	t.Setenv("PATH", filepath.Dir(simplydone)+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx := context.Background()
	stateDir := t.TempDir()
	dead := fmt.Sprintf("deadrun-%d", os.Getpid())

	rt, err := docker.New(ctx, docker.Options{RunID: dead, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	zones, err := az.NewZones([]string{"us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	s := az.Spec{ID: "i-0deadbeef0000001", Zone: zones[0], Addr: netip.MustParseAddr("127.0.1.77"), Port: 18535,
		Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{simplydone},
		DataDir: t.TempDir(), RunID: dead}
	if err := rt.EnsureImage(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Launch(ctx, s); err != nil {
		t.Fatal(err)
	}
	// The run "crashes": its lock file stays, held by nobody.
	if err := os.WriteFile(runlock.Path(stateDir, dead), []byte(`{"run_id":"`+dead+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	st, err := stack.Parse("reap.yaml", []byte(`name: reap
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: 18536}
target_group:
  port: 18536
launch_template:
  command: [sleep, "600"]
  pending_time: 0s
auto_scaling_group: {min_size: 0, max_size: 1, desired_capacity: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notes []string
	l, err := Start(ctx, Options{Stack: st, Speed: 20, Seed: 1, RunsDir: t.TempDir(), StateDir: stateDir, Driver: DriverProcess,
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
	if l.Driver != DriverProcess {
		t.Fatalf("the run uses %s, want process", l.Driver)
	}
	// The dead run's runtime sees its container go.
	select {
	case id := <-rt.Exited():
		if id != s.ID {
			t.Errorf("Exited = %s, want %s", id, s.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dead run's container was not reaped by a run on the process driver")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(notes, "\n"), "Reaped 1 instance(s) left behind by an earlier run that crashed") {
		t.Errorf("no note says the container was reaped; notes: %q", notes)
	}
}
