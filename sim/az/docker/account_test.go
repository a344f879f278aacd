package docker

import (
	"fmt"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/capfile"
)

// A spinning container with a quarter of a CPU: its account, read from its
// cgroup, shows the CPU its share allows and its threads; the engine keeps
// its output capped as the run's log file is.
func TestCPUAccountOfASpinningContainer(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, spinBin, "127.0.1.69", map[string]string{"SPIN": "1"})
	s.Type.CPU = 0.25
	launch(t, r, s)
	waitServing(t, s)
	a, err := r.CPUAccount(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	measure(2 * time.Second)
	b, err := r.CPUAccount(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	used := (b.Used - a.Used).Seconds()
	t.Logf("over 2 s: used %.3f s, run-queue delay %.3f s, throttled %.3f s, %d threads", used, (b.RunDelay - a.RunDelay).Seconds(), (b.Throttled - a.Throttled).Seconds(), b.Threads)
	if b.Share != 0.25 || b.Threads == 0 || used < 0.3 || used > 0.65 {
		t.Fatalf("account %+v: used %.3f s in 2 s on a 0.25 share, want about 0.5", b, used)
	}
	c, err := r.cli.ContainerInspect(bg, ContainerName(r.opts.RunID, s.ID))
	if err != nil {
		t.Fatal(err)
	}
	if lc := c.HostConfig.LogConfig; lc.Type != "json-file" || lc.Config["max-size"] != fmt.Sprintf("%dk", capfile.Limit>>10) || lc.Config["max-file"] != "1" {
		t.Errorf("log config %+v, want json-file capped at 64 MiB", lc)
	}
}
