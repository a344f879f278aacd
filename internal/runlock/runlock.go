package runlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simplydone/lab/internal/osproc"
)

// Ext is the lock files' extension.
const Ext = ".lock"

// Owner is what a lock file says of the run that holds it.
type Owner struct {
	RunID   string    `json:"run_id"`
	Dir     string    `json:"dir,omitempty"` // the run directory, absolute
	Process osproc.ID `json:"process"`       // the lab holding the lock
	Host    string    `json:"host,omitempty"`
	Started time.Time `json:"started"`
	// Subnets and Ports are what the run serves on: its zones' subnets
	// (127.0.N.0/24) and the load balancer's and instances' ports.
	Subnets []string `json:"subnets,omitempty"`
	Ports   []int    `json:"ports,omitempty"`
	// Addrs are addresses (host:port) the run binds outside its zones'
	// subnets: its database endpoints' stable addresses (127.0.0.200 and
	// up, on the database's port), which every run's tier takes from the
	// same base whatever its zones.
	Addrs []string `json:"addrs,omitempty"`
}

// Conflicts reports whether o and p would bind the same address: an
// address of Addrs in common, or a subnet in common and a port in common.
func (o Owner) Conflicts(p Owner) bool {
	c := o.Overlap(p)
	return len(c.Addrs) > 0 || len(c.Ports) > 0
}

// Clash is what two runs would both bind: Addrs in common, and Ports in
// common on the Subnets they share (none without a shared subnet).
type Clash struct {
	Addrs   []string
	Subnets []string
	Ports   []int
}

// Overlap is what o and p would both bind, in o's order.
func (o Owner) Overlap(p Owner) Clash {
	var c Clash
	for _, x := range o.Addrs {
		if slices.Contains(p.Addrs, x) {
			c.Addrs = append(c.Addrs, x)
		}
	}
	for _, x := range o.Subnets {
		if slices.Contains(p.Subnets, x) {
			c.Subnets = append(c.Subnets, x)
		}
	}
	if len(c.Subnets) > 0 {
		for _, x := range o.Ports {
			if slices.Contains(p.Ports, x) {
				c.Ports = append(c.Ports, x)
			}
		}
	}
	return c
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Path is the lock file of runID in stateDir.
func Path(stateDir, runID string) string { return filepath.Join(stateDir, runID+Ext) }

// DefaultStateDir is where runs keep their locks and records:
// $XDG_STATE_HOME/lab, else ~/.local/state/lab, else <tmp>/lab-<uid>.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "lab")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "state", "lab")
	}
	return TempStateDir()
}

// TempStateDir is the state directory used when the default one cannot be made.
func TempStateDir() string { return filepath.Join(os.TempDir(), fmt.Sprintf("lab-%d", os.Getuid())) }

// EnsureDir creates dir (and its parents) owner-only, and refuses a dir that
// is a symbolic link, not a directory, or owned by another user: a lab
// reopens what it finds there.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return CheckOwnDir(dir)
}

// CheckOwnDir refuses dir unless it is a directory (not a symbolic link to
// one) owned by this process's user.
func CheckOwnDir(dir string) error {
	dir = filepath.Clean(dir) // "link/" would follow the link
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link; give the directory itself", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you (uid %d); the lab uses only directories of its own user", dir, st.Uid, os.Getuid())
	}
	return nil
}

// ErrAlive is returned by Try when the run's lock is held: the run is alive.
var ErrAlive = errors.New("the run is alive: it holds its lock")

// ErrNoLock is returned by Try when the run has no lock file in the state
// directory: its liveness cannot be judged by its lock.
var ErrNoLock = errors.New("the run has no lock file")

// openLock opens a lock file without following a symbolic link and checks
// that it is a regular file owned by this user.
func openLock(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		st, _ := fi.Sys().(*syscall.Stat_t)
		switch {
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("%s is not a regular file", path)
		case st != nil && int(st.Uid) != os.Getuid():
			err = fmt.Errorf("%s is owned by uid %d, not by you", path, st.Uid)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sameFile reports whether f is still the file at path (not unlinked and
// replaced by a reaper).
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Held is a run's own lock, held from Hold to Release.
type Held struct {
	path  string
	f     *os.File
	owner Owner
	once  sync.Once
}

// Hold takes runID's lock in stateDir for the caller's whole life and writes
// o into it. It fails if the lock is held already. Keep the *Held until
// Release: the lock lives in its open file.
func Hold(stateDir string, o Owner) (*Held, error) {
	if !runIDPattern.MatchString(o.RunID) {
		return nil, fmt.Errorf("run lock: run id %q: want 1-64 of letters, digits, '.', '_', '-'", o.RunID)
	}
	if err := EnsureDir(stateDir); err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	path := Path(stateDir, o.RunID)
	for tries := 0; ; tries++ {
		f, err := openLock(path, os.O_RDWR|os.O_CREATE)
		if err != nil {
			return nil, fmt.Errorf("run lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return nil, fmt.Errorf("run lock %s: held by another process: %w", path, err)
		}
		// A reaper may have removed the file between our open and our
		// lock (it took it while it was empty): lock the file at the path.
		if !sameFile(f, path) {
			f.Close()
			if tries < 10 {
				continue
			}
			return nil, fmt.Errorf("run lock %s: the file keeps being replaced", path)
		}
		h := &Held{path: path, f: f, owner: o}
		if err := h.write(); err != nil {
			h.Release()
			return nil, err
		}
		return h, nil
	}
}

func (h *Held) write() error {
	b, err := json.Marshal(h.owner)
	if err != nil {
		return fmt.Errorf("run lock: %w", err)
	}
	if err := h.f.Truncate(0); err != nil {
		return fmt.Errorf("run lock: %w", err)
	}
	if _, err := h.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("run lock: %w", err)
	}
	return h.f.Sync()
}

// Owner is what the lock says of its holder.
func (h *Held) Owner() Owner { return h.owner }

// Path is the lock file.
func (h *Held) Path() string { return h.path }

// Release removes the lock file and drops the lock. Safe to call twice.
func (h *Held) Release() error {
	var err error
	h.once.Do(func() {
		if sameFile(h.f, h.path) {
			if e := os.Remove(h.path); e != nil && !errors.Is(e, os.ErrNotExist) {
				err = e
			}
		}
		err = errors.Join(err, h.f.Close())
	})
	return err
}

// ReadOwner reads what the lock file of runID says, without locking it.
func ReadOwner(stateDir, runID string) (Owner, error) {
	f, err := openLock(Path(stateDir, runID), os.O_RDONLY)
	if err != nil {
		return Owner{}, err
	}
	defer f.Close()
	return readOwner(f)
}

func readOwner(f *os.File) (Owner, error) {
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return Owner{}, err
	}
	var o Owner
	if len(strings.TrimSpace(string(b))) == 0 {
		return o, nil // written just after the lock is taken
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return Owner{}, fmt.Errorf("lock file: %w", err)
	}
	return o, nil
}

// claims are the locks of dead runs this process holds while it reaps them:
// a second Try of the same run in this process shares the first's lock (a
// second descriptor's flock would conflict with the first's).
var claims = struct {
	sync.Mutex
	m map[string]*Claim
}{m: map[string]*Claim{}}

// Claim is a dead run's lock, taken by a reaper: while it is held no other
// reaper acts on the run, and the run cannot come back.
type Claim struct {
	path  string
	f     *os.File
	owner Owner
	refs  int
}

// Owner is what the dead run's lock file says of it.
func (c *Claim) Owner() Owner { return c.owner }

// Try takes runID's lock without blocking. It returns ErrAlive when the
// run holds it (the run is alive: touch nothing of it), ErrNoLock when
// there is no lock file, and otherwise a Claim the caller releases.
func Try(stateDir, runID string) (*Claim, error) {
	if !runIDPattern.MatchString(runID) {
		return nil, fmt.Errorf("run lock: run id %q is not one", runID)
	}
	path := Path(stateDir, runID)
	claims.Lock()
	defer claims.Unlock()
	if c, ok := claims.m[path]; ok {
		c.refs++
		return c, nil
	}
	f, err := openLock(path, os.O_RDWR)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoLock
	} else if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrAlive
		}
		return nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	o, err := readOwner(f)
	if err != nil {
		o = Owner{RunID: runID}
	}
	c := &Claim{path: path, f: f, owner: o, refs: 1}
	claims.m[path] = c
	return c, nil
}

// Release drops this reference to the claim; the lock goes with the last.
func (c *Claim) Release() { c.done(false) }

// Remove drops the claim and, with the last reference, removes the lock
// file: the dead run is cleaned up.
func (c *Claim) Remove() { c.done(true) }

func (c *Claim) done(remove bool) {
	claims.Lock()
	defer claims.Unlock()
	c.refs--
	if c.refs > 0 {
		return
	}
	delete(claims.m, c.path)
	if remove && sameFile(c.f, c.path) {
		_ = os.Remove(c.path)
	}
	c.f.Close()
}

// Alive returns the owners of the runs in stateDir that hold their lock now.
func Alive(stateDir string) ([]Owner, error) {
	ids, err := Runs(stateDir)
	if err != nil {
		return nil, err
	}
	var out []Owner
	for _, id := range ids {
		c, err := Try(stateDir, id)
		switch {
		case errors.Is(err, ErrAlive):
			o, rerr := ReadOwner(stateDir, id)
			if rerr != nil || o.RunID == "" {
				o.RunID = id
			}
			out = append(out, o)
		case err == nil:
			c.Release()
		}
	}
	return out, nil
}

// Runs lists the run ids that have a lock file in stateDir.
func Runs(stateDir string) ([]string, error) {
	ents, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	var out []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if ok && e.Type().IsRegular() && runIDPattern.MatchString(id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}
