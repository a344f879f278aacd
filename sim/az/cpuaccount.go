package az

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPUAccount is an instance's CPU accounting, each figure cumulative since
// its cgroup (or process) began: what the host gave it, and how long it
// waited for a CPU. Sampled twice, the differences say whether the host
// gave the instance the CPU its share promises.
type CPUAccount struct {
	// Share is the instance's CPU share in cores (its type's vCPUs).
	Share float64
	// Used is the CPU time its processes used.
	Used time.Duration
	// RunDelay is the time its threads spent runnable but waiting on a
	// run queue (field 2 of /proc/TID/schedstat, summed over its threads).
	// It includes the waits its own CPU limit imposed (Throttled).
	RunDelay time.Duration
	// Throttled is the time its cgroup spent throttled by its own CPU
	// limit (cpu.stat throttled_time or throttled_usec); zero when no
	// limit is enforced.
	Throttled time.Duration
	// Threads is how many threads were summed in RunDelay.
	Threads int
}

// CPUAccounter is a runtime that can read an instance's CPU accounting.
// ErrNotFound, or a zero account, for an instance that is not running.
type CPUAccounter interface {
	CPUAccount(ctx context.Context, id InstanceID) (CPUAccount, error)
}

// ReadCgroupCPU reads the CPU accounting of a cgroup: cpuDir holds the
// cpu controller's files (cpu.stat, and tasks on v1 or cgroup.threads on
// v2), acctDir the usage (cpuacct.usage on v1; cpu.stat usage_usec on v2,
// where it is the same directory). procRoot is normally /proc.
func ReadCgroupCPU(procRoot, cpuDir, acctDir string) (CPUAccount, error) {
	var a CPUAccount
	stat, err := readKeyed(filepath.Join(cpuDir, "cpu.stat"))
	if err != nil {
		return a, fmt.Errorf("cgroup cpu accounting: %w", err)
	}
	v2 := false
	if us, ok := stat["throttled_usec"]; ok { // v2
		v2 = true
		a.Throttled = time.Duration(us) * time.Microsecond
		a.Used = time.Duration(stat["usage_usec"]) * time.Microsecond
	} else {
		a.Throttled = time.Duration(stat["throttled_time"]) // v1: ns
		if acctDir != "" {
			if b, err := os.ReadFile(filepath.Join(acctDir, "cpuacct.usage")); err == nil {
				ns, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				a.Used = time.Duration(ns)
			}
		}
	}
	threads := "tasks"
	if v2 {
		threads = "cgroup.threads"
	}
	b, err := os.ReadFile(filepath.Join(cpuDir, threads))
	if err != nil {
		return a, fmt.Errorf("cgroup threads: %w", err)
	}
	tids := strings.Fields(string(b))
	for _, f := range tids {
		if d, ok := runDelay(filepath.Join(procRoot, f, "schedstat")); ok {
			a.RunDelay += d
			a.Threads++
		}
	}
	if len(tids) > 0 && a.Threads == 0 {
		return a, fmt.Errorf("cgroup %s: none of its %d threads has a readable %s/TID/schedstat (a kernel without CONFIG_SCHED_INFO?)", cpuDir, len(tids), procRoot)
	}
	return a, nil
}

// ReadProcessCPU reads the CPU accounting of one process and its threads
// from procRoot (normally /proc), for an instance without a cgroup: no
// limit, so nothing is throttled.
func ReadProcessCPU(procRoot string, pid int) (CPUAccount, error) {
	var a CPUAccount
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return a, fmt.Errorf("process %d threads: %w", pid, err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			continue
		}
		run, err1 := strconv.ParseInt(f[0], 10, 64)
		wait, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		a.Used += time.Duration(run)
		a.RunDelay += time.Duration(wait)
		a.Threads++
	}
	if a.Threads == 0 {
		return a, fmt.Errorf("process %d: no thread's schedstat readable", pid)
	}
	return a, nil
}

// runDelay is field 2 of a schedstat file: nanoseconds spent waiting on a
// run queue.
func runDelay(path string) (time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false // the thread ended between the listing and the read
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(ns), err == nil
}

// HostCPU is the host's CPU time from /proc/stat's first line, summed over
// every CPU.
type HostCPU struct {
	Busy, Total time.Duration // busy: everything but idle and iowait
	Steal       time.Duration // taken by the hypervisor (part of Busy)
	IRQ         time.Duration // irq and softirq: the kernel's interrupt work (part of Busy)
	CPUs        int
}

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// ReadHostCPU reads procRoot/stat.
func ReadHostCPU(procRoot string) (HostCPU, error) {
	f, err := os.Open(filepath.Join(procRoot, "stat"))
	if err != nil {
		return HostCPU{}, fmt.Errorf("host CPU: %w", err)
	}
	defer f.Close()
	var h HostCPU
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "cpu "); ok {
			fs := strings.Fields(rest)
			for i, s := range fs {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return HostCPU{}, fmt.Errorf("host CPU: %s: field %d: %w", f.Name(), i+1, err)
				}
				d := time.Duration(v) * clockTick
				switch i {
				case 3, 4: // idle, iowait
				case 8, 9: // guest, guest_nice: already counted in user and nice
					continue
				default:
					h.Busy += d
				}
				if i == 7 {
					h.Steal = d
				}
				if i == 5 || i == 6 {
					h.IRQ += d
				}
				h.Total += d
			}
		} else if strings.HasPrefix(line, "cpu") {
			h.CPUs++
		}
	}
	if h.Total == 0 {
		return HostCPU{}, errors.New("host CPU: no cpu line in " + f.Name())
	}
	return h, sc.Err()
}

// ReadProcessTime is the CPU time (user and system) procRoot/PID/stat
// reports for a process, its threads included.
func ReadProcessTime(procRoot string, pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("process %d CPU time: %w", pid, err)
	}
	// the fields after the command's closing parenthesis: state is field 3,
	// utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("process %d CPU time: no command in stat line", pid)
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 {
		return 0, fmt.Errorf("process %d CPU time: short stat line", pid)
	}
	u, err1 := strconv.ParseInt(fs[11], 10, 64)
	s, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("process %d CPU time: %w", pid, err)
	}
	return time.Duration(u+s) * clockTick, nil
}

// readKeyed reads a file of "key value" lines.
func readKeyed(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
