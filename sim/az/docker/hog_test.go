package docker

import (
	"testing"
	"time"
)

// TestHogBurnsInsideTheContainersLimit: cpu-hog's docker exec runs inside
// the container's cgroup, so the container's CPU reading rises to its share
// and no further, and stop ends it.
func TestHogBurnsInsideTheContainersLimit(t *testing.T) {
	needEngine(t)
	r := newRuntime(t)
	s := spec(t, simplydoneBin, "127.0.1.69", nil)
	s.Type.CPU = 0.25
	launch(t, r, s)
	waitServing(t, s)
	if _, err := r.Stats(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	measure(500 * time.Millisecond)
	idle, _ := r.Stats(bg, s.ID)
	stop, err := r.Hog(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	measure(2 * time.Second)
	busy, err := r.Stats(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CPUUtilization idle %.1f%%, hogged %.1f%% of a 0.25 share", idle.CPUUtilization, busy.CPUUtilization)
	if busy.CPUUtilization < 60 || busy.CPUUtilization > 130 {
		t.Fatalf("hogged CPUUtilization = %.1f%%, want about 100%% of the share (limited, counted)", busy.CPUUtilization)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("a second stop: %v", err)
	}
	r.Stats(bg, s.ID)
	measure(time.Second)
	after, _ := r.Stats(bg, s.ID)
	if after.CPUUtilization > 40 {
		t.Fatalf("after stop CPUUtilization = %.1f%%", after.CPUUtilization)
	}
}
