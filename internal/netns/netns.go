package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dir is where named network namespaces are (as `ip netns` keeps them).
const Dir = "/var/run/netns"

// LockDir holds the topologies' owner locks. It is a fixed path (not under
// TMPDIR) so that every test process, whatever its environment, finds the
// same locks.
const LockDir = "/run/lab-netns-test"

// Ctl is the controller host's name.
const Ctl = "ctl"

// MaxZones is the most zone hosts a topology has (zone N owns 169.254.N.0/24).
const MaxZones = 200

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// Zone is zone host n's name (z1, z2, ...).
func Zone(n int) string { return "z" + strconv.Itoa(n) }

// Available says why a topology cannot be made here ("" when it can): it
// needs root, ip and nsenter.
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespaces need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the ip command (iproute2) is not installed"
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return "the nsenter command (util-linux) is not installed"
	}
	return ""
}

// Topology is a controller host and zone hosts, from New to Close.
type Topology struct {
	prefix string // the family, e.g. labt
	id     string // 6 hex, this topology's own
	zones  int
	lock   *os.File

	closeOnce sync.Once
	closeErr  error
}

// New makes a topology of a controller host and zones zone hosts (1 to
// MaxZones), its namespaces named <prefix>-<6 hex>-<host>. prefix is a
// lower-case letter and up to 15 more letters or digits (the family Sweep
// removes by). On any error, whatever was made is removed.
func New(prefix string, zones int) (*Topology, error) {
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("netns: prefix %q: want a lower-case letter and up to 15 lower-case letters or digits", prefix)
	}
	if zones < 1 || zones > MaxZones {
		return nil, fmt.Errorf("netns: %d zones: want 1 to %d", zones, MaxZones)
	}
	if why := Available(); why != "" {
		return nil, errors.New("netns: " + why)
	}
	t := &Topology{prefix: prefix, zones: zones}
	if err := t.hold(); err != nil {
		return nil, err
	}
	if err := t.build(); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	return t, nil
}

// hold picks the topology's id and takes its lock: the lock file is made
// and locked under a temporary name, then renamed into place, so Sweep never
// sees an unlocked lock file of a live topology.
func (t *Topology) hold() error {
	if err := os.MkdirAll(LockDir, 0o700); err != nil {
		return fmt.Errorf("netns: lock directory: %w", err)
	}
	for range 16 {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("netns: topology id: %w", err)
		}
		id := hex.EncodeToString(b[:])
		final := filepath.Join(LockDir, prefix(t.prefix, id)+".lock")
		if _, err := os.Lstat(final); err == nil {
			continue // taken
		}
		tmp, err := os.CreateTemp(LockDir, ".new-*")
		if err != nil {
			return fmt.Errorf("netns: lock: %w", err)
		}
		if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return fmt.Errorf("netns: lock %s: %w", tmp.Name(), err)
		}
		fmt.Fprintf(tmp, "pid %d\n", os.Getpid())
		// Link, not rename: link fails if the name was taken meanwhile.
		if err := os.Link(tmp.Name(), final); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return fmt.Errorf("netns: lock %s: %w", final, err)
		}
		os.Remove(tmp.Name())
		t.id, t.lock = id, tmp
		return nil
	}
	return errors.New("netns: no free topology id after 16 tries")
}

func prefix(family, id string) string { return family + "-" + id }

func (t *Topology) build() error {
	ctl := t.NS(Ctl)
	hosts := []string{Ctl}
	for n := 1; n <= t.zones; n++ {
		hosts = append(hosts, Zone(n))
	}
	for _, h := range hosts {
		if err := ip("netns", "add", t.NS(h)); err != nil {
			return err
		}
		if err := ip("-n", t.NS(h), "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	if err := ipAll(
		[]string{"-n", ctl, "link", "add", "br0", "type", "bridge"},
		[]string{"-n", ctl, "addr", "add", "169.254.0.1/16", "dev", "br0"},
		[]string{"-n", ctl, "link", "set", "br0", "up"},
	); err != nil {
		return err
	}
	for n := 1; n <= t.zones; n++ {
		zns, port := t.NS(Zone(n)), bridgePort(n)
		host := t.Addr(n).String()
		subnet := t.Subnet(n).String()
		// The veth is made inside the controller's namespace with its
		// peer born in the zone's: it never exists in the root namespace.
		if err := ipAll(
			[]string{"-n", ctl, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", zns},
			[]string{"-n", ctl, "link", "set", port, "master", "br0"},
			[]string{"-n", ctl, "link", "set", port, "up"},
			[]string{"-n", zns, "addr", "add", host + "/16", "dev", "eth0"},
			[]string{"-n", zns, "link", "set", "eth0", "up"},
			[]string{"-n", zns, "route", "add", "local", subnet, "dev", "lo"},
			[]string{"-n", ctl, "route", "add", subnet, "via", host},
		); err != nil {
			return err
		}
	}
	return nil
}

func bridgePort(zone int) string { return "vz" + strconv.Itoa(zone) }

// ID is the topology's own 6 hex digits.
func (t *Topology) ID() string { return t.id }

// Zones is how many zone hosts the topology has.
func (t *Topology) Zones() int { return t.zones }

// NS is the namespace name of host (Ctl or Zone(n)).
func (t *Topology) NS(host string) string { return prefix(t.prefix, t.id) + "-" + host }

// Path is the namespace file of host, for code that joins it by path.
func (t *Topology) Path(host string) string { return filepath.Join(Dir, t.NS(host)) }

// Hosts are the topology's host names: Ctl, then the zones in order.
func (t *Topology) Hosts() []string {
	hs := []string{Ctl}
	for n := 1; n <= t.zones; n++ {
		hs = append(hs, Zone(n))
	}
	return hs
}

// Addr is host address of zone n (169.254.n.250), or of the controller
// (169.254.0.1) for n = 0.
func (t *Topology) Addr(n int) netip.Addr {
	if n == 0 {
		return netip.AddrFrom4([4]byte{169, 254, 0, 1})
	}
	return netip.AddrFrom4([4]byte{169, 254, byte(n), 250})
}

// Subnet is zone n's subnet (169.254.n.0/24), every address of which is
// local on zone host n.
func (t *Topology) Subnet(n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, byte(n), 0}), 24)
}

// Exec is the command name args run inside host (Ctl or Zone(n)); the
// caller starts and waits for it. It enters only the host's network
// namespace (`nsenter --net=`), not a mount namespace of its own as `ip
// netns exec` would (which remounts /sys and so hides /sys/fs/cgroup: the
// process runtime's CPU limits and accounting would be off inside). nsenter
// execs the program, so Process.Pid and signals reach it.
func (t *Topology) Exec(host string, name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + t.Path(host), "--", name}, args...)...)
}

// CutLink sets zone host n's port on the bridge down: packets between that
// host and every other are dropped (its connections stall, new ones time
// out), while its addresses and routes stay. restore sets the port up
// again; calling it twice is no error.
func (t *Topology) CutLink(zone int) (restore func() error, err error) {
	if zone < 1 || zone > t.zones {
		return nil, fmt.Errorf("netns: cut zone %d: the topology has zones 1 to %d", zone, t.zones)
	}
	port := bridgePort(zone)
	if err := ip("-n", t.NS(Ctl), "link", "set", port, "down"); err != nil {
		return nil, err
	}
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() { rerr = ip("-n", t.NS(Ctl), "link", "set", port, "up") })
		return rerr
	}, nil
}

// Close kills whatever still runs inside the topology's hosts, removes its
// namespaces (their links go with them) and its lock. Safe to call twice.
func (t *Topology) Close() error {
	t.closeOnce.Do(func() {
		var errs []error
		if t.id != "" {
			for _, h := range t.Hosts() {
				errs = append(errs, remove(t.NS(h)))
			}
		}
		if t.lock != nil {
			if err := os.Remove(filepath.Join(LockDir, prefix(t.prefix, t.id)+".lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("netns: remove lock: %w", err))
			}
			t.lock.Close()
		}
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}

// remove kills the processes inside namespace name, waits for them to be
// gone (at most 10 s) and deletes the namespace. A namespace that is not
// there is no error.
func remove(name string) error {
	if _, err := os.Lstat(filepath.Join(Dir, name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, err := Pids(name)
		if err != nil || len(pids) == 0 {
			break // a namespace file ip cannot read (a crash while it was made) has no process: delete it
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns: %s: processes %v still inside 10 s after SIGKILL", name, pids)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond) // poll until the killed are gone
	}
	if err := ip("netns", "delete", name); err != nil {
		if _, serr := os.Lstat(filepath.Join(Dir, name)); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// Pids are the processes inside namespace name (zombies excepted: they hold
// no namespace any more).
func Pids(name string) ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return nil, fmt.Errorf("netns: ip netns pids %s: %w%s", name, err, stderrOf(err))
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("netns: ip netns pids %s: %q is not a pid", name, f)
		}
		pids = append(pids, p)
	}
	return pids, nil
}

// Sweep removes every topology of family prefix whose owner is gone (its
// lock free or missing): the processes inside are killed, the namespaces
// deleted, the lock removed. Live topologies (another test's, running now)
// are left alone. It returns the namespaces it removed.
func Sweep(prefix string) ([]string, error) {
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("netns: prefix %q: want a lower-case letter and up to 15 lower-case letters or digits", prefix)
	}
	pat := regexp.MustCompile(`^` + prefix + `-([0-9a-f]{6})-(ctl|z[0-9]+)$`)
	ents, err := os.ReadDir(Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("netns: sweep: %w", err)
	}
	byID := map[string][]string{}
	for _, e := range ents {
		if m := pat.FindStringSubmatch(e.Name()); m != nil {
			byID[m[1]] = append(byID[m[1]], e.Name())
		}
	}
	// Locks without namespaces (a crash between lock and namespaces).
	lents, _ := os.ReadDir(LockDir)
	lockPat := regexp.MustCompile(`^` + prefix + `-([0-9a-f]{6})\.lock$`)
	for _, e := range lents {
		if m := lockPat.FindStringSubmatch(e.Name()); m != nil {
			if _, ok := byID[m[1]]; !ok {
				byID[m[1]] = nil
			}
		}
	}
	var removed []string
	var errs []error
	for id, names := range byID {
		lockPath := filepath.Join(LockDir, prefix+"-"+id+".lock")
		f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
		if err == nil {
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				f.Close()
				continue // alive
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("netns: sweep: %w", err))
			continue
		}
		ok := true
		for _, n := range names {
			if err := remove(n); err != nil {
				errs = append(errs, err)
				ok = false
			} else {
				removed = append(removed, n)
			}
		}
		if f != nil {
			if ok {
				os.Remove(lockPath)
			}
			f.Close()
		}
	}
	return removed, errors.Join(errs...)
}

func ip(args ...string) error {
	cmd := exec.Command("ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("netns: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func ipAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := ip(c...); err != nil {
			return err
		}
	}
	return nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
