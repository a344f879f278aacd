package process

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// measure waits out a measurement window of wall time. This is the quantity
// under test (CPU used over a window), not a wait for a condition.
func measure(d time.Duration) { <-time.After(d) }

func TestCPUShareIsEnforcedAndMeasured(t *testing.T) {
	r := newRuntime(t)
	ok, why := r.Enforced()
	if !ok {
		t.Skip("cgroups unusable here, so the share cannot be asserted: " + why)
	}
	s := spec(t, "127.0.1.20", map[string]string{"SPIN": "1"})
	s.Type.CPU = 0.25
	launch(t, r, s)
	waitServing(t, s)
	g := r.entry(s.ID).cg

	if g.mem != "" {
		b, err := os.ReadFile(filepath.Join(g.mem, "memory.limit_in_bytes"))
		if g.v2 {
			b, err = os.ReadFile(filepath.Join(g.mem, "memory.max"))
		}
		if err != nil || strings.TrimSpace(string(b)) != itoa(128<<20) {
			t.Errorf("memory limit = %q, %v; want %d", b, err, 128<<20)
		}
	}

	if _, err := r.Stats(bg, s.ID); err != nil { // start a fresh window
		t.Fatal(err)
	}
	used0, _ := g.usage()
	start := time.Now()
	measure(2 * time.Second)
	st, err := r.Stats(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	used1, _ := g.usage()
	cores := (used1 - used0).Seconds() / time.Since(start).Seconds()

	t.Logf("CPUUtilization %.1f%% of a 0.25 share; %.3f cores; RSS %d bytes", st.CPUUtilization, cores, st.MemoryBytes)
	if st.CPUUtilization < 60 || st.CPUUtilization > 130 {
		t.Errorf("CPUUtilization = %.1f%%, want about 100%% of the share", st.CPUUtilization)
	}
	if cores >= 0.5 {
		t.Errorf("spinning instance used %.2f cores; its share is 0.25", cores)
	}
	if st.MemoryBytes == 0 {
		t.Error("MemoryBytes = 0")
	}
}

func TestIdleInstanceReadsLowCPU(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.21", nil)
	launch(t, r, s)
	waitServing(t, s)
	if _, err := r.Stats(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	measure(500 * time.Millisecond)
	st, err := r.Stats(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUUtilization > 40 {
		t.Errorf("idle instance CPUUtilization = %.1f%%", st.CPUUtilization)
	}
}
