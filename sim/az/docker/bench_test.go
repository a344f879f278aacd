package docker

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
	"github.com/simplydone/lab/sim/az/process"
)

// benchN reads LAB_BENCH (the number of samples); 0 skips the test.
func benchN(t *testing.T) int {
	t.Helper()
	n, _ := strconv.Atoi(os.Getenv("LAB_BENCH"))
	if n <= 0 {
		t.Skip("measurement, not a check: run with LAB_BENCH=<samples>, e.g. LAB_BENCH=7")
	}
	needEngine(t)
	return n
}

type samples []time.Duration

func (s samples) String() string {
	c := slices.Clone(s)
	slices.Sort(c)
	return fmt.Sprintf("median %v (min %v, max %v, n %d)",
		c[len(c)/2].Round(10*time.Microsecond), c[0].Round(10*time.Microsecond), c[len(c)-1].Round(10*time.Microsecond), len(c))
}

// launchToHealthy launches s and polls /health every 5 ms until it
// answers; it returns how long that took, then terminates the instance.
func launchToHealthy(t *testing.T, r az.Runtime, s az.Spec) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := r.Launch(bg, s); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := aztest.Get(aztest.URL(s), time.Second)
		if err == nil && resp.InstanceID == string(s.ID) {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("instance %s not healthy after 30s: %v", s.ID, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Since(start)
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	return d
}

// Launch to the first passing GET /health of SimplyDone, as a container
// and as a process (its image already built).
func TestBenchLaunchToHealthy(t *testing.T) {
	n := benchN(t)
	dr := newRuntime(t)
	pr, err := process.New(process.Options{RunID: fmt.Sprintf("bench-%d", os.Getpid()), StateDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pr.Close() })
	if err := dr.EnsureImage(bg, spec(t, simplydoneBin, "127.0.1.70", nil)); err != nil {
		t.Fatal(err)
	}
	var ds, ps samples
	for range n {
		ds = append(ds, launchToHealthy(t, dr, spec(t, simplydoneBin, "127.0.1.70", nil)))
		ps = append(ps, launchToHealthy(t, pr, spec(t, simplydoneBin, "127.0.1.71", nil)))
	}
	t.Logf("launch to first healthy GET /health: docker  %s", ds)
	t.Logf("launch to first healthy GET /health: process %s", ps)
}

// The cost of one Stats round over many containers: every container read
// at once (the API bounded by StatsWorkers), from the cgroup and from the
// engine's Stats API.
func TestBenchStatsCgroupVsAPI(t *testing.T) {
	n := benchN(t)
	containers := 20
	if v, _ := strconv.Atoi(os.Getenv("LAB_BENCH_CONTAINERS")); v > 0 {
		containers = v
	}
	workers, _ := strconv.Atoi(os.Getenv("LAB_BENCH_WORKERS"))
	r := newRuntime(t, func(o *Options) { o.StatsWorkers = workers })
	t.Logf("%d containers, %d Stats API workers", containers, r.opts.StatsWorkers)
	var ids []az.InstanceID
	for i := range containers {
		s := spec(t, spinBin, fmt.Sprintf("127.0.%d.%d", 1+i%3, 80+i), nil)
		s.Type.CPU = 0.1
		s.Type.MemoryMiB = 32
		launch(t, r, s)
		ids = append(ids, s.ID)
	}
	round := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				if _, err := r.Stats(bg, id); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	one := func() time.Duration {
		start := time.Now()
		if _, err := r.Stats(bg, ids[0]); err != nil {
			t.Error(err)
		}
		return time.Since(start)
	}
	for _, src := range []struct {
		name string
		src  StatsSource
	}{{"cgroup", StatsCgroup}, {"api", StatsAPI}} {
		r.opts.Stats = src.src // nothing else reads it while this test runs
		round()                // warm up
		var rounds, singles samples
		for range n {
			rounds = append(rounds, round())
			singles = append(singles, one())
		}
		t.Logf("stats via %-6s: one round of %d containers %s", src.name, containers, rounds)
		t.Logf("stats via %-6s: one container alone %s", src.name, singles)
	}
}
