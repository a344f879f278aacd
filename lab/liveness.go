package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/stack"
)

// LiveRunError is why a run refused to start: a run that is alive on this
// machine already serves on the addresses it would take. Nothing of that run
// was touched.
type LiveRunError struct {
	RunID string // the live run, when it is this user's
	PID   int
	Dir   string
	Addr  string // the address in use, when no run of this user names it
}

func (e *LiveRunError) Error() string {
	if e.RunID != "" {
		return fmt.Sprintf("run %s (pid %d, evidence in %s) is alive and serves on the same zone addresses and ports; "+
			"stop it first (Ctrl-C in its terminal), or give this stack other ports (listener.port, target_group.port)", e.RunID, e.PID, e.Dir)
	}
	return fmt.Sprintf("%s is already in use by another program (another user's lab, or a server of yours); "+
		"stop it, or give this stack other ports (listener.port, target_group.port); nothing was started", e.Addr)
}

// stateDir is the state directory of the run: the one given, else the
// default, else a temporary one of this user's.
func stateDir(given string) (string, error) {
	if given != "" {
		return given, runlock.EnsureDir(given)
	}
	d := runlock.DefaultStateDir()
	if err := runlock.EnsureDir(d); err != nil {
		d = runlock.TempStateDir()
		if err := runlock.EnsureDir(d); err != nil {
			return "", err
		}
	}
	return d, nil
}

// footprint is what a run of s serves on: its zones' subnets and ports.
func footprint(s *stack.Stack, zones []az.Zone) ([]string, []int) {
	var subnets []string
	for _, z := range zones {
		subnets = append(subnets, z.Subnet.String())
	}
	var ports []int
	all := []int{s.LoadBalancer.ListenerPort, s.TargetGroup.Port, s.LaunchTemplate.Port}
	for _, sv := range s.Services { // every service's (stack/services.go)
		all = append(all, sv.TargetGroup.Port, sv.LaunchTemplate.Port)
	}
	if s.Database != nil {
		all = append(all, s.Database.Port) // the database servers, on 127.0.N.200 and up
	}
	for _, p := range all {
		if p > 0 && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return subnets, ports
}

// lockOwner is this process as the owner of runID's lock: the run's
// directory, this process's identity, now.
func (l *Lab) lockOwner(runID string) (runlock.Owner, error) {
	dir, err := filepath.Abs(l.Dir)
	if err != nil {
		return runlock.Owner{}, err
	}
	self, err := osproc.Self()
	if err != nil {
		return runlock.Owner{}, fmt.Errorf("identify this process: %w", err)
	}
	return runlock.Owner{RunID: runID, Dir: dir, Process: self, Started: time.Now().UTC()}, nil
}

// holdRun takes the run's lock in the state directory, held until Close,
// and refuses to start beside a live run on the same addresses: it names
// that run and its pid and touches nothing of it.
func (l *Lab) holdRun() error {
	me, err := l.lockOwner(l.RunID)
	if err != nil {
		return err
	}
	me.Host, _ = os.Hostname()
	zones, err := az.NewZones(l.opts.Stack.Zones)
	if err != nil {
		return err
	}
	me.Subnets, me.Ports = footprint(l.opts.Stack, zones)
	me.Addrs = databaseAddrs(l.opts.Stack)
	if l.lock, err = runlock.Hold(l.opts.StateDir, me); err != nil {
		return err
	}
	alive, err := runlock.Alive(l.opts.StateDir)
	if err != nil {
		return err
	}
	for _, o := range alive {
		if o.RunID != l.RunID && me.Conflicts(o) {
			return &LiveRunError{RunID: o.RunID, PID: o.Process.PID, Dir: o.Dir}
		}
	}
	// Another user's lab has its own state directory: the addresses tell
	// (each zone's node, and the database's endpoints).
	var probe []netip.AddrPort
	for _, z := range zones {
		probe = append(probe, netip.AddrPortFrom(z.NodeAddr(), uint16(l.opts.Stack.LoadBalancer.ListenerPort)))
	}
	for _, a := range me.Addrs {
		probe = append(probe, netip.MustParseAddrPort(a))
	}
	for _, ap := range probe {
		ln, err := net.Listen("tcp", ap.String())
		if errors.Is(err, syscall.EADDRINUSE) {
			return &LiveRunError{Addr: ap.String()}
		}
		if err == nil {
			ln.Close()
		}
	}
	return nil
}

// releaseRun drops the run's lock: called last when the lab closes.
func (l *Lab) releaseRun() error {
	if l.lock == nil {
		return nil
	}
	return l.lock.Release()
}

// createOwn creates a file of the run directory for the lab alone: new
// (never an existing file or a symbolic link planted in its place) and 0600.
func createOwn(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
}

// checkRunsDir refuses a runs directory (--out) that is a symbolic link,
// not a directory, or owned by another user. A missing one is fine:
// makeRunsDir creates it once the run holds its lock.
func checkRunsDir(dir string) error {
	err := runlock.CheckOwnDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// makeRunsDir creates the runs directory if missing and checks it again.
func makeRunsDir(dir string) error {
	if err := os.MkdirAll(filepath.Clean(dir), 0o711); err != nil {
		return err
	}
	return runlock.CheckOwnDir(dir)
}

// DirError is a state or runs directory the lab refuses to use (a
// symbolic link, not a directory, another user's): bad usage, refused
// before anything starts.
type DirError struct {
	What string // "state directory" or "runs directory"
	Err  error
}

func (e *DirError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *DirError) Unwrap() error { return e.Err }

// runDirs lists the run directories `lab down` looks at: those the state
// directory's lock files name (of dead runs only) and those under runsDir.
func runDirs(stateDir, runsDir string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		if abs, err := filepath.Abs(d); err == nil && !seen[abs] {
			seen[abs] = true
			out = append(out, d)
		}
	}
	ids, err := runlock.Runs(stateDir)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		c, err := runlock.Try(stateDir, id)
		if err != nil {
			continue // alive, or unreadable: not ours to touch
		}
		if d := c.Owner().Dir; d != "" && filepath.Base(d) == id {
			add(d)
		}
		c.Release()
	}
	if runsDir != "" {
		ents, err := os.ReadDir(runsDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", runsDir, err)
		}
		for _, e := range ents {
			if e.IsDir() {
				add(filepath.Join(runsDir, e.Name()))
			}
		}
	}
	return out, nil
}

// SweepLocks removes the lock files of dead runs that have nothing left to
// clean up (no process records, no fault outstanding in their journal), and
// says how many it removed. A live run's lock is never touched.
func SweepLocks(stateDir string) (int, error) {
	ids, err := runlock.Runs(stateDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		c, err := runlock.Try(stateDir, id)
		if err != nil {
			continue
		}
		clean := true
		if _, err := os.Lstat(filepath.Join(stateDir, id)); err == nil {
			clean = false // process records are left: Reap could not finish
		}
		if d := c.Owner().Dir; d != "" {
			if left, _, err := chaos.Outstanding(filepath.Join(d, rundir.ChaosFile)); err == nil && len(left) > 0 {
				clean = false
			}
		}
		if clean {
			c.Remove()
			n++
		} else {
			c.Release()
		}
	}
	return n, nil
}
