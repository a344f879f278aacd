package docker

import (
	"testing"
)

// A container a crashed run left paused is thawed by the engine's unpause:
// SIGCONT does not undo the cgroup freezer the engine's pause uses.
func TestCrashedThawsAPausedContainerWithUnpause(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, spinBin, "127.0.1.68", nil)
	launch(t, r, s)
	waitServing(t, s)
	if err := r.Pause(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	cli := mustClient(t)
	paused := func() bool {
		c, err := cli.ContainerInspect(bg, ContainerName(r.opts.RunID, s.ID))
		if err != nil {
			t.Fatal(err)
		}
		return c.State.Paused
	}
	if !paused() {
		t.Fatal("the container is not paused")
	}
	// Another run's id names no container of this one.
	if n, err := (Crashed{}).ResumeCrashed("another-run", s.ID); err != nil || n != 0 {
		t.Fatalf("ResumeCrashed of another run = %d, %v; want 0, nil", n, err)
	}
	n, err := Crashed{}.ResumeCrashed(r.opts.RunID, s.ID)
	if err != nil || n != 1 {
		t.Fatalf("ResumeCrashed = %d, %v; want 1, nil", n, err)
	}
	if paused() {
		t.Fatal("the container is still paused after ResumeCrashed")
	}
	waitServing(t, s)
	if n, err := (Crashed{}).ResumeCrashed(r.opts.RunID, s.ID); err != nil || n != 0 {
		t.Fatalf("ResumeCrashed of a running container = %d, %v; want 0, nil", n, err)
	}
	// The runtime still believes it paused; let it resume (a no-op for the
	// engine's state) so that Close stops it cleanly.
	_ = r.Resume(bg, s.ID)
}
