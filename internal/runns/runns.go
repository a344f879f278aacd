package runns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Prefix starts the name of every namespace the lab makes.
const Prefix = "lab-"

// Dir is where named network namespaces are (as `ip netns` keeps them).
const Dir = "/var/run/netns"

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Name is the namespace of run runID.
func Name(runID string) string { return Prefix + runID }

// RunOf returns the run whose namespace name is, or false when name is not
// one the lab makes.
func RunOf(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, Prefix)
	return id, ok && runIDPattern.MatchString(id)
}

// NS is a run's network namespace, open from Create to Remove.
type NS struct {
	name string
	mu   sync.RWMutex // Do holds it to read; Remove, to close h (a closed descriptor's number may be reused)
	h    netns.NsHandle
}

// Create makes run runID's namespace, with its loopback device up. It fails
// if the namespace exists already (a live run's, or a crashed one's not yet
// reaped).
func Create(runID string) (*NS, error) {
	if !runIDPattern.MatchString(runID) {
		return nil, fmt.Errorf("network namespace: run id %q: want 1-64 of letters, digits, '.', '_', '-'", runID)
	}
	name := Name(runID)
	if _, err := os.Lstat(filepath.Join(Dir, name)); err == nil {
		return nil, fmt.Errorf("network namespace %s exists already", name)
	}
	var h netns.NsHandle
	err := onThread(func() error {
		// NewNamed switches this thread into the new namespace; onThread
		// switches it back.
		var err error
		h, err = netns.NewNamed(name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", name, err)
	}
	ns := &NS{name: name, h: h}
	if err := ns.loUp(); err != nil {
		return nil, errors.Join(fmt.Errorf("network namespace %s: loopback: %w", name, err), ns.Remove())
	}
	return ns, nil
}

func (ns *NS) loUp() error {
	nl, err := netlink.NewHandleAt(ns.h)
	if err != nil {
		return err
	}
	defer nl.Close()
	lo, err := nl.LinkByName("lo")
	if err != nil {
		return err
	}
	return nl.LinkSetUp(lo)
}

// Name is the namespace's name (lab-<run id>).
func (ns *NS) Name() string { return ns.name }

// Path is the namespace's file, for a runtime that joins it by path.
func (ns *NS) Path() string { return filepath.Join(Dir, ns.name) }

// Do runs fn on an OS thread switched into the namespace: a socket fn makes
// is the namespace's, and a process fn starts (os/exec forks from the
// calling thread) is born in it.
func (ns *NS) Do(fn func() error) error {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	if !ns.h.IsOpen() {
		return fmt.Errorf("network namespace %s: removed", ns.name)
	}
	return onThread(func() error {
		if err := netns.Set(ns.h); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", ns.name, err)
		}
		return fn()
	})
}

// At opens the network namespace whose file is path (named name in
// errors), one the lab did not make, for Do and Dial; Close releases it.
// The test hosts of internal/netns are reached so.
func At(path, name string) (*NS, error) {
	h, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", name, err)
	}
	return &NS{name: name, h: h}, nil
}

// Close releases the namespace's handle without removing it.
func (ns *NS) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.h.IsOpen() {
		ns.h.Close()
		ns.h = netns.None()
	}
	return nil
}

// Enter switches the calling OS thread into the namespace for good: the
// caller has locked its goroutine to the thread (runtime.LockOSThread) and
// never unlocks it, so that the thread ends with the goroutine rather than
// serve others from inside the namespace. A starter goroutine that forks
// every instance does this once.
func (ns *NS) Enter() error {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	if err := netns.Set(ns.h); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", ns.name, err)
	}
	return nil
}

// Dial connects to address inside the namespace (network "tcp" or "tcp4").
// The socket is made in the namespace; the connection is then used as any
// other, from any goroutine. The address must be an IP literal and port: a
// name that resolves to several addresses would make Go's dialer race a
// fallback socket on another goroutine, outside the namespace.
func (ns *NS) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("dial %s in network namespace %s: want an IP address and port: %w", address, ns.name, err)
	}
	var c net.Conn
	err := ns.Do(func() error {
		var err error
		c, err = (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// DialPID connects to address inside the network namespace of process
// pid (a container's own, when it runs with network mode none).
func DialPID(ctx context.Context, pid int, network, address string) (net.Conn, error) {
	h, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	defer h.Close()
	ns := &NS{name: fmt.Sprintf("pid %d", pid), h: h}
	return ns.Dial(ctx, network, address)
}

// Remove deletes the namespace's name and closes its handle; the namespace
// itself goes with the last process in it. Safe to call twice.
func (ns *NS) Remove() error {
	ns.Close()
	return Delete(ns.name)
}

// Exists reports whether the named namespace name is under Dir.
func Exists(name string) bool {
	_, err := os.Lstat(filepath.Join(Dir, name))
	return err == nil
}

// Delete removes the named namespace name (one of the lab's: Prefix and a
// run id), found under Dir without following a symbolic link. A name that
// is not there is no error.
func Delete(name string) error {
	if _, ok := RunOf(name); !ok {
		return fmt.Errorf("network namespace %q: not one the lab makes", name)
	}
	fi, err := os.Lstat(filepath.Join(Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("network namespace %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("network namespace %s: %s is not a namespace file", name, filepath.Join(Dir, name))
	}
	if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace %s: %w", name, err)
	}
	return nil
}

// onThread runs fn on a locked OS thread and puts the thread back into the
// namespace it was in. A thread that cannot be put back is never used
// again: it stays locked, and ends with its goroutine.
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("this thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave the network namespace: %w", err))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
