package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/rds"
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
	// What clashes, when known: Endpoints are database endpoint addresses
	// (host:port) both runs take; Ports are ports both serve on the zone
	// subnets Subnets they share; Fields are this stack's fields that set
	// what clashes ("listener.port", "database.port", ...), the ones to
	// change.
	Endpoints []string
	Subnets   []string
	Ports     []int
	Fields    []string
}

func (e *LiveRunError) Error() string {
	fields := "listener.port, target_group.port"
	if len(e.Fields) > 0 {
		fields = strings.Join(e.Fields, ", ")
	}
	if e.RunID != "" {
		var what []string
		if len(e.Endpoints) > 0 {
			what = append(what, fmt.Sprintf("the database endpoint address %s (every run's endpoints take %s and up, on database.port)",
				strings.Join(e.Endpoints, ", "), rds.DefaultEndpointBase))
		}
		if len(e.Ports) > 0 {
			what = append(what, fmt.Sprintf("port %s on the zone subnets %s", joinInts(e.Ports), strings.Join(e.Subnets, ", ")))
		}
		if len(what) == 0 {
			what = []string{"the same zone addresses and ports"}
		}
		return fmt.Sprintf("run %s (pid %d, evidence in %s) is alive and serves on %s; "+
			"stop it first (Ctrl-C in its terminal), or give this stack other ports (%s)", e.RunID, e.PID, e.Dir, strings.Join(what, " and "), fields)
	}
	if len(e.Endpoints) > 0 {
		return fmt.Sprintf("%s, where this stack's database endpoint would listen (every run's endpoints take %s and up, on database.port), "+
			"is already in use by another program (another user's lab with a database, or a server of yours); "+
			"stop it, or give this stack another database port (database.port); nothing was started", e.Addr, rds.DefaultEndpointBase)
	}
	return fmt.Sprintf("%s is already in use by another program (another user's lab, or a server of yours); "+
		"stop it, or give this stack other ports (%s); nothing was started", e.Addr, fields)
}

// liveRunClash is the refusal of a run me of stack s beside the live run o:
// what both would bind, and the fields of s that set it.
func liveRunClash(s *stack.Stack, me, o runlock.Owner) *LiveRunError {
	c := me.Overlap(o)
	e := &LiveRunError{RunID: o.RunID, PID: o.Process.PID, Dir: o.Dir, Endpoints: c.Addrs, Subnets: c.Subnets, Ports: c.Ports}
	if len(c.Addrs) > 0 {
		e.Fields = append(e.Fields, "database.port")
	}
	for _, p := range c.Ports {
		for _, f := range portFields(s)[p] {
			if !slices.Contains(e.Fields, f) {
				e.Fields = append(e.Fields, f)
			}
		}
	}
	return e
}

// portFields are the stack's fields that set each port a run of it serves
// on (footprint's ports).
func portFields(s *stack.Stack) map[int][]string {
	out := map[int][]string{}
	add := func(p int, f string) {
		if p > 0 {
			out[p] = append(out[p], f)
		}
	}
	add(s.LoadBalancer.ListenerPort, "listener.port")
	add(s.TargetGroup.Port, "target_group.port")
	add(s.LaunchTemplate.Port, "launch_template.port")
	for i, sv := range s.Services {
		add(sv.TargetGroup.Port, fmt.Sprintf("services[%d].target_group.port", i))
		add(sv.LaunchTemplate.Port, fmt.Sprintf("services[%d].launch_template.port", i))
	}
	if s.Database != nil {
		add(s.Database.Port, "database.port")
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
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
			return liveRunClash(l.opts.Stack, me, o)
		}
	}
	// Another user's lab has its own state directory: the addresses tell
	// (each zone's node, and the database's endpoints).
	var probe []netip.AddrPort
	for _, z := range zones {
		probe = append(probe, netip.AddrPortFrom(z.NodeAddr(), uint16(l.opts.Stack.LoadBalancer.ListenerPort)))
	}
	listeners := len(probe)
	for _, a := range me.Addrs {
		probe = append(probe, netip.MustParseAddrPort(a))
	}
	for i, ap := range probe {
		ln, err := net.Listen("tcp", ap.String())
		if errors.Is(err, syscall.EADDRINUSE) {
			if i >= listeners { // a database endpoint's address
				return &LiveRunError{Addr: ap.String(), Endpoints: []string{ap.String()}, Fields: []string{"database.port"}}
			}
			return &LiveRunError{Addr: ap.String(), Fields: []string{"listener.port"}}
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
