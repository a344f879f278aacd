package az

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A v1 cgroup: usage from cpuacct, throttling from cpu.stat in ns, the
// run-queue delay summed over the threads in tasks (a thread that ended
// between the listing and the read is skipped).
func TestReadCgroupCPUv1(t *testing.T) {
	root := t.TempDir()
	proc, cpu, acct := filepath.Join(root, "proc"), filepath.Join(root, "cpu", "i-1"), filepath.Join(root, "cpuacct", "i-1")
	write(t, filepath.Join(cpu, "cpu.stat"), "nr_periods 100\nnr_throttled 7\nthrottled_time 35000000\nnr_bursts 0\nburst_time 0\n")
	write(t, filepath.Join(cpu, "tasks"), "101\n102\n103\n")
	write(t, filepath.Join(acct, "cpuacct.usage"), "2500000000\n")
	write(t, filepath.Join(proc, "101", "schedstat"), "900000000 40000000 300\n")
	write(t, filepath.Join(proc, "102", "schedstat"), "100000000 2000000 20\n")
	a, err := ReadCgroupCPU(proc, cpu, acct)
	if err != nil {
		t.Fatal(err)
	}
	want := CPUAccount{Used: 2500 * time.Millisecond, RunDelay: 42 * time.Millisecond, Throttled: 35 * time.Millisecond, Threads: 2}
	if a != want {
		t.Fatalf("account %+v, want %+v", a, want)
	}
}

// A v2 cgroup: usage and throttling in µs from cpu.stat, threads from
// cgroup.threads.
func TestReadCgroupCPUv2(t *testing.T) {
	root := t.TempDir()
	proc, dir := filepath.Join(root, "proc"), filepath.Join(root, "lab", "i-1")
	write(t, filepath.Join(dir, "cpu.stat"), "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 20000\n")
	write(t, filepath.Join(dir, "cgroup.threads"), "7\n")
	write(t, filepath.Join(proc, "7", "schedstat"), "1 5000000 3\n")
	a, err := ReadCgroupCPU(proc, dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := CPUAccount{Used: 1500 * time.Millisecond, RunDelay: 5 * time.Millisecond, Throttled: 20 * time.Millisecond, Threads: 1}
	if a != want {
		t.Fatalf("account %+v, want %+v", a, want)
	}
	if _, err := ReadCgroupCPU(proc, filepath.Join(root, "gone"), ""); err == nil {
		t.Fatal("a missing cgroup reads without an error")
	}
	write(t, filepath.Join(dir, "cgroup.threads"), "8\n9\n")
	if _, err := ReadCgroupCPU(proc, dir, dir); err == nil {
		t.Fatal("threads without a schedstat read as no run-queue delay, without an error")
	}
}

// Without a cgroup: the process's threads' schedstat, nothing throttled.
func TestReadProcessCPU(t *testing.T) {
	proc := t.TempDir()
	write(t, filepath.Join(proc, "42", "task", "42", "schedstat"), "300000000 10000000 5\n")
	write(t, filepath.Join(proc, "42", "task", "43", "schedstat"), "200000000 30000000 5\n")
	a, err := ReadProcessCPU(proc, 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := (CPUAccount{Used: 500 * time.Millisecond, RunDelay: 40 * time.Millisecond, Threads: 2}); a != want {
		t.Fatalf("account %+v, want %+v", a, want)
	}
	if _, err := ReadProcessCPU(proc, 41); err == nil {
		t.Fatal("a missing process reads without an error")
	}
}

// /proc/stat's first line: busy is all but idle and iowait, guest time is
// not counted twice, steal and irq+softirq are kept apart; the per-CPU
// lines are counted.
func TestReadHostCPU(t *testing.T) {
	proc := t.TempDir()
	write(t, filepath.Join(proc, "stat"), "cpu  100 10 50 800 20 5 5 3 7 0\ncpu0 50 5 25 400 10 2 2 1 3 0\ncpu1 50 5 25 400 10 3 3 2 4 0\nintr 1 2\n")
	h, err := ReadHostCPU(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := HostCPU{Busy: 173 * clockTick, Total: 993 * clockTick, Steal: 3 * clockTick, IRQ: 10 * clockTick, CPUs: 2}
	if h != want {
		t.Fatalf("host %+v, want %+v", h, want)
	}
}

// utime and stime come after the command, which may hold spaces and parentheses.
func TestReadProcessTime(t *testing.T) {
	proc := t.TempDir()
	write(t, filepath.Join(proc, "9", "stat"), "9 (lab (x) y) S 1 9 9 0 -1 4194560 100 0 0 0 120 30 0 0 20 0 12 0 500 0 0\n")
	d, err := ReadProcessTime(proc, 9)
	if err != nil || d != 150*clockTick {
		t.Fatalf("%s %v, want %s", d, err, 150*clockTick)
	}
	// the real thing: this test's own process has used some CPU
	if d, err := ReadProcessTime("/proc", os.Getpid()); err != nil || d < 0 {
		t.Fatalf("own CPU time %s %v", d, err)
	}
}
