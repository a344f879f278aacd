package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/figures"
	"github.com/simplydone/lab/internal/longtest"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// warmScaleOut runs a one-instance group of real SimplyDone processes whose
// first boot takes 60 s and whose restart takes 5 s, scales it out by one,
// and returns the AWS time from the decision to the new instance healthy on
// every load-balancer node, and the new instance's lifecycle path.
func warmScaleOut(t *testing.T, driver string, port int, pool *stack.WarmPool) (time.Duration, az.InstanceID) {
	t.Helper()
	s := testStackWith(t, port, 3, "")
	s.AutoScalingGroup.MinSize, s.AutoScalingGroup.DesiredCapacity = 1, 1
	s.LaunchTemplate.BootTime = 60 * time.Second
	restart := 5 * time.Second
	s.LaunchTemplate.RestartTime = &restart
	s.AutoScalingGroup.WarmPool = pool
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: driver})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first := l.Instances()[0].ID
	waitFor(t, "the first instance healthy", 30*time.Second, func() bool { return everyNodeSees(l.LB, first, alb.StateHealthy) })
	if pool != nil {
		waitFor(t, "the warm pool stopped", 30*time.Second, func() bool {
			ins := l.Group.WarmPoolInstances()
			return len(ins) == 2 && ins[0].State == asg.WarmedStopped && ins[1].State == asg.WarmedStopped
		})
		for _, in := range l.Group.WarmPoolInstances() {
			if ri, ok := l.fleet.instance(in.ID); !ok || ri.State != az.StateStopped {
				t.Fatalf("pool instance %s: runtime state %q, want a stopped %s instance", in.ID, ri.State, driver)
			}
		}
	}
	start := l.Clock.Now()
	if err := l.Group.SetDesired(2); err != nil {
		t.Fatal(err)
	}
	var added az.InstanceID
	waitFor(t, "the new instance healthy", 30*time.Second, func() bool {
		for _, in := range l.Group.Instances() {
			if in.ID != first && in.State == asg.InService && everyNodeSees(l.LB, in.ID, alb.StateHealthy) {
				added = in.ID
				return true
			}
		}
		return false
	})
	return l.Clock.Now().Sub(start), added
}

// TestWarmPoolScaleOutIsFasterThanColdLaunch: a warm start restarts a
// stopped process that has done its first boot, so it serves long before a
// cold launch, which waits the whole first boot
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
func TestWarmPoolScaleOutIsFasterThanColdLaunch(t *testing.T) {
	longtest.Skip(t, "a comparison of cold and warm runs, on each runtime")
	pool := &stack.WarmPool{PoolState: stack.PoolStateStopped, MaxGroupPreparedCapacity: -1}
	cold, _ := warmScaleOut(t, DriverProcess, 18571, nil)
	warm, id := warmScaleOut(t, DriverProcess, 18572, pool)
	t.Logf("scale-out to healthy on every node (AWS time): cold launch %s, warm start %s (boot_time 60s, restart_time 5s)", cold.Round(time.Second), warm.Round(time.Second))
	if cold < 60*time.Second {
		t.Errorf("cold launch took %s, less than its 60 s boot", cold)
	}
	if warm >= 60*time.Second || warm >= cold {
		t.Errorf("warm start took %s, cold %s: want the warm start under the 60 s first boot", warm, cold)
	}
	if id == "" {
		t.Error("no new instance")
	}
	t.Run("docker", func(t *testing.T) {
		if _, _, err := ResolveDriver(context.Background(), DriverDocker); err != nil {
			t.Skipf("no Docker engine: %v", err)
		}
		// The Docker runtime builds SimplyDone's image from the binary it finds on PATH.
		t.Setenv("PATH", filepath.Dir(simplydone)+string(os.PathListSeparator)+os.Getenv("PATH"))
		warm, _ := warmScaleOut(t, DriverDocker, 18573, pool)
		t.Logf("docker: warm start from a stopped container %s (AWS time)", warm.Round(time.Second))
		if warm >= 60*time.Second {
			t.Errorf("warm start took %s: a started container must not boot again", warm)
		}
	})
}

// A stack with a warm pool lists what the pool relies on that AWS does not
// document; restart_time is the stack's setting when given.
func TestWarmPoolAssumptions(t *testing.T) {
	s, err := stack.Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	names := func() map[string]figures.Figure {
		out := map[string]figures.Figure{}
		for _, f := range assumptions(s) {
			out[f.Name] = f
		}
		return out
	}
	if _, ok := names()["Warm start restart time"]; ok {
		t.Fatal("warm pool figures without a warm pool")
	}
	s.AutoScalingGroup.WarmPool = &stack.WarmPool{PoolState: stack.PoolStateStopped, MaxGroupPreparedCapacity: -1}
	if f := names()["Warm start restart time"]; f.Kind != figures.Assumed || f.Value != s.LaunchTemplate.BootTime.String() {
		t.Errorf("restart time unset: %+v", f)
	}
	restart := 15 * time.Second
	s.LaunchTemplate.RestartTime = &restart
	got := names()
	if f := got["Warm start restart time"]; f.Kind != figures.Setting || f.Value != "15s" {
		t.Errorf("restart time set: %+v", f)
	}
	if f := got["Warm pool instance stopped after"]; f.Kind != figures.Assumed || f.Source == "" {
		t.Errorf("stop after first boot: %+v", f)
	}
}
