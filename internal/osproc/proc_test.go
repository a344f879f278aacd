package osproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestSameNamesOneProcess(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if !Same(self) {
		t.Error("this process is not the same as itself")
	}
	later := self
	later.Start++
	if Same(later) {
		t.Error("a different start tick names the same process")
	}
	other := self
	other.Boot = "00000000-0000-0000-0000-000000000000"
	if Same(other) {
		t.Error("a different boot names the same process")
	}
	if Same(ID{PID: self.PID, Start: self.Start}) || Same(ID{Start: self.Start, Boot: self.Boot}) {
		t.Error("an id with a part missing names a process")
	}

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !Zombie(cmd.Process.Pid) {
		t.Errorf("pid %d of a reaped child is not reported gone", cmd.Process.Pid)
	}
}

// fakeProc writes a /proc with one process (pid 4242, command name with
// spaces and parentheses), an uptime and a boot time, and a boot id.
func fakeProc(t *testing.T, root string, state string, startTicks uint64, uptime float64, btime int64, boot string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "4242"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "sys", "kernel", "random"), 0o755))
	// Fields 3 to 22: state, ppid, pgrp, session, tty_nr, tpgid, flags,
	// minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime,
	// priority, nice, num_threads, itrealvalue, starttime; then more.
	stat := fmt.Sprintf("4242 (lab (run) x) %s 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 %d 1000000 200 18446744073709551615\n", state, startTicks)
	must(os.WriteFile(filepath.Join(root, "4242", "stat"), []byte(stat), 0o644))
	must(os.WriteFile(filepath.Join(root, "uptime"), fmt.Appendf(nil, "%.2f 100.00\n", uptime), 0o644))
	must(os.WriteFile(filepath.Join(root, "stat"), fmt.Appendf(nil, "cpu 1 2 3 4\nbtime %d\n", btime), 0o644))
	must(os.WriteFile(filepath.Join(root, "sys", "kernel", "random", "boot_id"), []byte(boot+"\n"), 0o644))
}

// A clock step (NTP, suspend and resume) moves the wall clock, and with it
// the boot time derived as now minus the uptime, to which gopsutil adds the
// start ticks: the run's create time then changes and a live run looks
// dead. The start tick and the boot id do not move.
func TestIdentityHoldsAcrossAClockStep(t *testing.T) {
	root := t.TempDir()
	const boot = "6f1c1e0a-8a3b-4f7e-9d2c-0b5c2a7e4d11"
	fakeProc(t, root, "S", 123456, 5000.25, 1_765_000_000, boot)
	p := Proc{Root: root}
	id, err := p.Identify(4242)
	if err != nil {
		t.Fatal(err)
	}
	if id != (ID{PID: 4242, Start: 123456, Boot: boot}) {
		t.Fatalf("Identify = %+v", id)
	}
	if !p.Same(id) {
		t.Fatal("the process is not the same as itself")
	}

	// The wall clock steps back an hour: the uptime-derived boot time moves.
	fakeProc(t, root, "S", 123456, 5000.25+3600, 1_765_000_000-3600, boot)
	if !p.Same(id) {
		t.Error("a clock step made a live process look like another")
	}
	// The pid is reused by a later process: its start tick differs.
	fakeProc(t, root, "S", 999999, 9000, 1_765_000_000, boot)
	if p.Same(id) {
		t.Error("a reused pid (another start tick) names the same process")
	}
	// The machine rebooted and a process got the same pid at the same tick.
	fakeProc(t, root, "S", 123456, 5000.25, 1_765_100_000, "0d9a3b7c-0000-4000-8000-000000000000")
	if p.Same(id) {
		t.Error("a process of another boot names the same process")
	}
	// The process exited and waits for its parent.
	fakeProc(t, root, "Z", 123456, 5000.25, 1_765_000_000, boot)
	if p.Same(id) || !p.Zombie(4242) {
		t.Error("a zombie names a live process")
	}
	if _, err := p.Identify(4243); err == nil {
		t.Error("a pid /proc does not have was identified")
	}
}

func TestHasEnv(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.Env = []string{"LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-1"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	// Until the child has exec'd, /proc shows the parent's environment.
	for deadline := time.Now().Add(5 * time.Second); !HasEnv(pid, "LAB_RUN_ID=r1"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the child's environment is not seen within 5 s")
		}
	}
	if !HasEnv(pid, "LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-1") {
		t.Error("the child's environment is not seen")
	}
	if HasEnv(pid, "LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-2") || HasEnv(pid, "LAB_RUN_ID=r") {
		t.Error("a value the child does not carry is seen")
	}
}
