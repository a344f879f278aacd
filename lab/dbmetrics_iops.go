package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ReadIOPS and WriteIOPS, as RDS names them: "the average number of disk
// read (write) I/O operations per second", unit Count/Second.
//
// What is measured, and why: the server's read- and write-family system
// calls, syscr and syscw of /proc/<pid>/io summed over the postmaster and
// every process under it (a backend's counts fold into the postmaster's
// when it exits and is reaped, so the sum only grows while the server
// lives). The cgroup's block-I/O counts (v2 io.stat rios/wios) would be
// closer to what EBS counts, but they cannot be had here: the lab's hosts
// run cgroup v1, where the process runtime puts servers in cpu, cpuacct
// and memory groups only, and v1's blkio attributes buffered writes to the
// kernel's flusher, not to the server that dirtied the pages. So the figure
// is the server's file I/O as it asks for it: PostgreSQL reads a page with
// pread() when shared_buffers misses it and writes WAL with write() at
// commit; its socket traffic (recv/send) is not counted. The read-family
// count also takes the server's reads of its own wake-up descriptors (its
// latches: a commit waiting for its synchronous standby is woken through
// one), so ReadIOPS runs above the page reads it stands for (measured in
// TestRunWritesToTheDatabase: ReadIOPS 2-13 against WriteIOPS 0.3-0.7 on
// a write-only primary whose data fits in memory). It is an upper bound
// of the disk operations RDS would count: the host's page cache answers
// some of those reads, as RDS's instance memory would.

// RDS metric names for I/O.
const (
	MetricReadIOPS  = "ReadIOPS"
	MetricWriteIOPS = "WriteIOPS"
)

// ioSample is one reading of a server's I/O counters, at an AWS time.
type ioSample struct {
	pid          int
	reads, write uint64
	at           time.Time
}

// iops is the rate between two readings in operations per AWS second (the
// lab's clock: a run at speed 20 does in one wall second what AWS does in
// twenty, so a per-second rate is per AWS second, as RequestCount is per AWS
// minute). ok is false when the two readings are not of the same process
// (the server restarted: its counters began again), when a counter went
// back (a backend not yet reaped took its counts with it), or when no AWS
// time passed.
func iops(prev, cur ioSample) (read, write float64, ok bool) {
	secs := cur.at.Sub(prev.at).Seconds()
	if prev.pid != cur.pid || cur.pid == 0 || secs <= 0 || cur.reads < prev.reads || cur.write < prev.write {
		return 0, 0, false
	}
	return float64(cur.reads-prev.reads) / secs, float64(cur.write-prev.write) / secs, true
}

// readServerIO sums syscr and syscw over pid and its descendants, read
// from procRoot (/proc). A process that ends while it is read is skipped.
func readServerIO(procRoot string, pid int) (reads, writes uint64, err error) {
	if pid <= 0 {
		return 0, 0, errors.New("no process")
	}
	children, err := childrenOf(procRoot)
	if err != nil {
		return 0, 0, err
	}
	r, w, err := procIO(procRoot, pid)
	if err != nil {
		return 0, 0, fmt.Errorf("read I/O of process %d: %w", pid, err)
	}
	reads, writes = r, w
	seen := map[int]bool{pid: true}
	queue := append([]int(nil), children[pid]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		queue = append(queue, children[p]...)
		if r, w, err := procIO(procRoot, p); err == nil {
			reads += r
			writes += w
		}
	}
	return reads, writes, nil
}

// childrenOf maps each process to its children, from every
// procRoot/<pid>/stat's parent field.
func childrenOf(procRoot string) (map[int][]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	out := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses,
		// so the fields start after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			out[ppid] = append(out[ppid], pid)
		}
	}
	return out, nil
}

// procIO reads syscr and syscw from procRoot/<pid>/io.
func procIO(procRoot string, pid int) (syscr, syscw uint64, err error) {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "io"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var haveR, haveW bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, perr := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			syscr, haveR = n, perr == nil
		case "syscw":
			syscw, haveW = n, perr == nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !haveR || !haveW {
		return 0, 0, errors.New("no syscr/syscw")
	}
	return syscr, syscw, nil
}
