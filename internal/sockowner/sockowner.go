package sockowner

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// openNet opens a file of net/ under p. For the host's own /proc it is the
// calling thread's (thread-self), opened on a locked thread: /proc/net is
// /proc/self/net, the network namespace of the lab's main thread, and a
// thread that entered a run's namespace (internal/runns) and ended locked
// may be that main thread, wedged there for good. Every thread the Go
// scheduler still runs goroutines on is in the host's namespace.
func (p Proc) openNet(file string) (*os.File, error) {
	if string(p) != "/proc" {
		return os.Open(filepath.Join(string(p), file))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return os.Open(filepath.Join("/proc/thread-self", file))
}

// Proc is where the proc filesystem is mounted; tests point it elsewhere.
type Proc string

// Host is the host's /proc.
const Host Proc = "/proc"

// ForeignError says that a listener at Addr is not held by the instance.
type ForeignError struct {
	Addr netip.AddrPort
	PID  int    // the process that holds it, 0 when none was found (another network namespace, or gone)
	Comm string // its command name
}

func (e *ForeignError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is answered by a listener that is not the instance's own (its process was not found)", e.Addr)
	}
	return fmt.Sprintf("%s is answered by a listener that is not the instance's own: pid %d (%s)", e.Addr, e.PID, e.Comm)
}

// Check returns nil when every listener a connection to addr could reach
// is held by one of pids, or when nothing listens there (the connection is
// then refused, which the health check sees for itself); else a
// *ForeignError naming the holder.
func (p Proc) Check(addr netip.AddrPort, pids []int) error {
	return p.check(p.Listening, addr, pids)
}

// CheckIn is Check in the network namespace of process nsPID (a run's own
// namespace, internal/runns), whose sockets /proc/<nsPID>/net lists.
func (p Proc) CheckIn(nsPID int, addr netip.AddrPort, pids []int) error {
	in := Proc(filepath.Join(string(p), strconv.Itoa(nsPID)))
	return p.check(in.Listening, addr, pids)
}

func (p Proc) check(listening func(netip.AddrPort) ([]uint64, error), addr netip.AddrPort, pids []int) error {
	inodes, err := listening(addr)
	if err != nil {
		return err
	}
	for _, ino := range inodes {
		if slices.ContainsFunc(pids, func(pid int) bool { return p.holds(pid, ino) }) {
			continue
		}
		pid := p.holder(ino)
		comm := ""
		if pid > 0 {
			comm = p.name(pid)
		}
		return &ForeignError{Addr: addr, PID: pid, Comm: comm}
	}
	return nil
}

// name is what a person knows pid by: the base name of its argv[0] (from
// /proc/PID/cmdline), which a program run through a descriptor or renamed
// by its kernel comm still shows truly; comm when the command line is empty
// (a kernel thread, a zombie).
func (p Proc) name(pid int) string {
	b, _ := os.ReadFile(filepath.Join(string(p), strconv.Itoa(pid), "cmdline"))
	if arg0, _, _ := strings.Cut(string(b), "\x00"); arg0 != "" {
		return filepath.Base(arg0)
	}
	b, _ = os.ReadFile(filepath.Join(string(p), strconv.Itoa(pid), "comm"))
	return strings.TrimSpace(string(b))
}

// Listening returns the inodes of the sockets listening where a TCP
// connection to addr would go: those bound to addr itself, or, when there
// is none, those bound to the wildcard address on its port.
func (p Proc) Listening(addr netip.AddrPort) ([]uint64, error) {
	var exact, wild []uint64
	match := func(local netip.AddrPort, inode uint64) {
		a := local.Addr().Unmap()
		switch {
		case local.Port() != addr.Port():
		case a == addr.Addr().Unmap():
			exact = append(exact, inode)
		case a.IsUnspecified():
			wild = append(wild, inode)
		}
	}
	// The host's own: the kernel's listening table through sock_diag
	// (diag.go), /proc/net/tcp's full table only when that fails.
	if p != Host || diagListeners(match) != nil {
		exact, wild = nil, nil
		if err := p.scanNet(match); err != nil {
			return nil, err
		}
	}
	if len(exact) > 0 {
		return exact, nil
	}
	return wild, nil
}

// scanNet calls fn for each listening socket in /proc's net/tcp and
// net/tcp6 under p.
func (p Proc) scanNet(fn func(local netip.AddrPort, inode uint64)) error {
	for _, file := range []string{"net/tcp", "net/tcp6"} {
		err := p.scanListeners(file, fn)
		if err != nil && !(file == "net/tcp6" && errors.Is(err, os.ErrNotExist)) {
			return err
		}
	}
	return nil
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// scanListeners calls fn for each listening socket in /proc/<file>.
func (p Proc) scanListeners(file string, fn func(local netip.AddrPort, inode uint64)) error {
	f, err := p.openNet(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// One large read: the kernel fills it from a single walk of its socket
	// tables, where small reads (bufio's 4 KiB) resume the walk at an
	// offset and can skip a listener when sockets come and go between them.
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if fields[3] != tcpListen {
			// Not a listener. The kernel walks its listening table
			// first, but that table can hold other states too (a
			// listener closing), so the scan does not stop here.
			continue
		}
		local, ok := parseAddr(fields[1])
		if !ok {
			continue
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		fn(local, inode)
	}
	return sc.Err()
}

// parseAddr reads an address as /proc/net/tcp prints it: the address's
// 32-bit words in hex, each in the host's (little-endian) byte order, a
// colon and the port in hex.
func parseAddr(s string) (netip.AddrPort, bool) {
	h, ps, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(ps, 16, 16)
	if !ok || err != nil {
		return netip.AddrPort{}, false
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a, uint16(port)), true
}

// holds reports whether pid has socket inode open.
func (p Proc) holds(pid int, inode uint64) bool {
	dir := filepath.Join(string(p), strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == want {
			return true
		}
	}
	return false
}

// holders remembers who held a foreign socket, so that a health check
// repeated every few seconds does not scan every process each time: the
// remembered pid is checked first (one process's descriptors).
var holders sync.Map // inode -> pid

// holder returns a process that has socket inode open, or 0.
func (p Proc) holder(inode uint64) int {
	if v, ok := holders.Load(inode); ok && p.holds(v.(int), inode) {
		return v.(int)
	}
	pid := p.find(inode)
	if pid > 0 {
		holders.Store(inode, pid)
	} else {
		holders.Delete(inode)
	}
	return pid
}

// find returns a process that has socket inode open, or 0.
func (p Proc) find(inode uint64) int {
	ents, err := os.ReadDir(string(p))
	if err != nil {
		return 0
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid > 0 && p.holds(pid, inode) {
			return pid
		}
	}
	return 0
}
