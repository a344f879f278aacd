package tui

import (
	"bufio"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The live socket serves only its own user and root: a process of another
// user that reaches it (here the socket is opened up to everyone, as in
// the moment before its chmod) is hung up on without a byte, checked by
// the kernel's record of the peer (SO_PEERCRED), not by the file's mode.
func TestSocketRefusesAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to connect as another user")
	}
	dir, err := os.MkdirTemp("/tmp", "lab-sock-") // nobody may search it, unlike t.TempDir's
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Publish(fixture())
	if err := os.Chmod(srv.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	if n, err := readAs(srv.Path(), 65534); err != nil || n != 0 {
		t.Errorf("a client of uid 65534 read %d bytes (%v), want 0: hung up on", n, err)
	}
	if n, err := readAs(srv.Path(), 0); err != nil || n == 0 {
		t.Errorf("the owner's client read %d bytes (%v); want the snapshot", n, err)
	}
}

// readAs connects to the socket at path from an OS thread whose effective
// uid is uid (the kernel records the connecting thread's credentials) and
// returns how many bytes of the first line it read before a hang-up. The
// thread is left locked, so Go ends it when the goroutine returns.
func readAs(path string, uid int) (int, error) {
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
			done <- result{0, e}
			return
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			done <- result{0, err}
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadBytes('\n')
		done <- result{len(line), nil}
	}()
	r := <-done
	return r.n, r.err
}
