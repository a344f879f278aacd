package process

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
)

// startLoose starts a spin process outside any runtime, as a lab that has
// since crashed would have left it, with LAB_RUN_ID=envRun.
// The returned channel is closed once the process has ended.
func startLoose(t *testing.T, addr, envRun string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	a := netip.MustParseAddr(addr)
	cmd := exec.Command(spinBin)
	cmd.Env = []string{"LAB_RUN_ID=" + envRun, "LAB_ADDR=" + addr, "LAB_PORT=" + itoa(freePort(t, a))}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd, done
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

func recordFor(t *testing.T, runID, id string, pid int, owner osproc.ID) record {
	t.Helper()
	pr, err := osproc.Identify(pid)
	if err != nil {
		t.Fatal(err)
	}
	return record{RunID: runID, InstanceID: id, Process: pr, Owner: owner}
}

// deadOwner is the identity of a lab that has exited.
func deadOwner(t *testing.T) osproc.ID {
	t.Helper()
	self, err := osproc.Self()
	if err != nil {
		t.Fatal(err)
	}
	return osproc.ID{PID: deadPID(t), Start: 1, Boot: self.Boot}
}

func TestReapKillsOnlyWhatIsProvablyOurs(t *testing.T) {
	stateDir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const run = "crashed-run"
	owner := deadOwner(t)

	ours, oursDone := startLoose(t, "127.0.1.30", run)
	other, otherDone := startLoose(t, "127.0.1.31", "another-run") // environ lacks LAB_RUN_ID=crashed-run
	for _, rec := range []record{
		recordFor(t, run, "i-0000000000000000a", ours.Process.Pid, owner),
		recordFor(t, run, "i-0000000000000000b", other.Process.Pid, owner),
	} {
		if err := writeRecord(stateDir, rec); err != nil {
			t.Fatal(err)
		}
	}

	// A run whose owner (this test) is alive must be left alone.
	self, err := osproc.Self()
	if err != nil {
		t.Fatal(err)
	}
	live, liveDone := startLoose(t, "127.0.1.32", "live-run")
	if err := writeRecord(stateDir, recordFor(t, "live-run", "i-0000000000000000c", live.Process.Pid, self)); err != nil {
		t.Fatal(err)
	}

	n, err := Reap(context.Background(), stateDir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Reap killed %d, want 1", n)
	}
	select {
	case <-oursDone:
		if ws, ok := ours.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("recorded process ended with %v, want SIGKILL", ours.ProcessState)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("recorded process of a dead lab still running")
	}
	for name, done := range map[string]<-chan struct{}{"unmatched": otherDone, "live run's": liveDone} {
		select {
		case <-done:
			t.Errorf("%s process was killed", name)
		default:
		}
	}
	if _, err := os.Stat(filepath.Join(stateDir, run)); !os.IsNotExist(err) {
		t.Errorf("dead run's record directory still there: %v", err)
	}
	if _, err := os.Stat(recordPath(stateDir, "live-run", "i-0000000000000000c")); err != nil {
		t.Errorf("live run's record removed: %v", err)
	}
}

func TestReapRemovesCgroupsOfADeadRun(t *testing.T) {
	r := newRuntime(t)
	if ok, why := r.Enforced(); !ok {
		t.Skip("no cgroups to reap: " + why)
	}
	s := spec(t, "127.0.1.33", nil)
	in := launch(t, r, s)
	dirs := r.entry(s.ID).cg.dirs()

	// Pretend the owner died: rewrite the record with a dead owner pid.
	path := recordPath(r.opts.StateDir, r.opts.RunID, string(s.ID))
	rec := recordFor(t, r.opts.RunID, string(s.ID), in.PID, deadOwner(t))
	rec.Cgroups = dirs
	if err := writeRecord(r.opts.StateDir, rec); err != nil {
		t.Fatal(err)
	}
	n, err := Reap(context.Background(), r.opts.StateDir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || n != 1 {
		t.Fatalf("Reap = %d, %v; want 1, nil", n, err)
	}
	eventually(t, 5*time.Second, "reaped process gone", func() bool { return !alive(in.PID) })
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s still there", d)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("record still there: %v", err)
	}
	// The runtime sees its instance die on its own.
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Errorf("Exited = %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Error("reaped instance not reported on Exited")
	}
}

// A run that holds its lock is alive, whatever its records say of its
// owner's pid (a clock step once made a live lab's create time look like
// another process's): Reap touches nothing of it. Once the lock is free the
// same records are reaped.
func TestReapLeavesARunThatHoldsItsLock(t *testing.T) {
	stateDir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const run = "locked-run"
	held, err := runlock.Hold(stateDir, runlock.Owner{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	p, done := startLoose(t, "127.0.1.34", run)
	// The owner recorded looks dead: a pid that has exited.
	if err := writeRecord(stateDir, recordFor(t, run, "i-0000000000000000d", p.Process.Pid, deadOwner(t))); err != nil {
		t.Fatal(err)
	}
	n, err := Reap(context.Background(), stateDir, quiet)
	if err != nil || n != 0 {
		t.Fatalf("Reap of a run holding its lock = %d, %v; want 0, nil", n, err)
	}
	select {
	case <-done:
		t.Fatal("the process of a run that holds its lock was killed")
	default:
	}
	if _, err := os.Stat(recordPath(stateDir, run, "i-0000000000000000d")); err != nil {
		t.Errorf("record of a live run removed: %v", err)
	}

	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	// The lock file is gone with its holder; a lock file left by a run that
	// died is taken and the run reaped too.
	h2, err := runlock.Hold(stateDir, runlock.Owner{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	leaveLockFile(t, h2)
	n, err = Reap(context.Background(), stateDir, quiet)
	if err != nil || n != 1 {
		t.Fatalf("Reap of a dead run = %d, %v; want 1, nil", n, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the dead run's process still running")
	}
}

// leaveLockFile drops h's lock but leaves its file, as a holder killed
// with SIGKILL does.
func leaveLockFile(t *testing.T, h *runlock.Held) {
	t.Helper()
	tmp := h.Path() + ".keep"
	if err := os.Link(h.Path(), tmp); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, h.Path()); err != nil {
		t.Fatal(err)
	}
}

// A cgroup.procs lists pid 0 for a process in another pid namespace, and
// kill(0) would signal the lab's own process group; pid 1 is init. Neither
// is ever signalled.
func TestProcsInSkipsPid0And1(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0\n1\n4242\n0\n4243\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := procsIn([]string{dir})
	if len(got) != 2 || got[0] != 4242 || got[1] != 4243 {
		t.Fatalf("procsIn = %v, want [4242 4243]", got)
	}
}
