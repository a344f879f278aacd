package process

import (
	"testing"
	"time"
)

// A spinning instance with a quarter of a CPU: its account shows the CPU
// its share allows, its own limit's throttling, and its threads' waits.
func TestCPUAccountOfASpinningInstance(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.21", map[string]string{"SPIN": "1"})
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
	if b.Share != 0.25 || b.Threads == 0 || b.RunDelay < a.RunDelay {
		t.Fatalf("account %+v", b)
	}
	if ok, _ := r.Enforced(); ok {
		if used < 0.3 || used > 0.65 {
			t.Errorf("used %.3f s of CPU in 2 s on a 0.25 share, want about 0.5", used)
		}
		if b.Throttled <= a.Throttled {
			t.Error("a spinning instance at its limit was never throttled")
		}
	}
	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if z, err := r.CPUAccount(bg, s.ID); err != nil || z.Share != 0 {
		t.Fatalf("a stopped instance reads %+v, %v; want a zero account", z, err)
	}
}
