package process

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ShimArg is the hidden subcommand of the lab's binary that runs as the
// privilege-dropping shim (see Shim): `lab drop-privileges PROGRAM ARGS...`.
const ShimArg = "drop-privileges"

var (
	shimMu  sync.Mutex
	shimCmd []string
)

// UseShim makes every Runtime that runs as root start its instances and
// hogs through cmd (the lab's own binary and ShimArg: cmd/lab sets it), so
// that they run with an empty capability bounding set and no_new_privs: a
// setuid or file-capability program then gives no privilege back. Without
// it (tests of other packages), the runtime changes the user alone, which
// leaves the bounding set full.
func UseShim(cmd []string) {
	shimMu.Lock()
	defer shimMu.Unlock()
	shimCmd = append([]string(nil), cmd...)
}

func shim() []string {
	shimMu.Lock()
	defer shimMu.Unlock()
	return shimCmd
}

// throughShim makes cmd start through the shim when the lab is root and a
// shim is set: the shim, still root, runs cmd's program as nobody (it
// changes the user itself, after clearing the bounding set, which needs
// root). It reports whether it did.
func throughShim(cmd *exec.Cmd) bool {
	s := shim()
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Credential == nil || len(s) == 0 {
		return false
	}
	cmd.SysProcAttr.Credential = nil
	cmd.Args = append(append(append([]string(nil), s...), cmd.Path), cmd.Args[1:]...)
	cmd.Path = s[0]
	return true
}

// Shim drops every privilege and executes args[0] with args as its
// arguments (argv[0] is args[0]) and the environment it was given. It runs
// as root, started by the runtime: it empties the capability bounding set
// (PR_CAPBSET_DROP for 0..cap_last_cap) and the inheritable set, sets
// no_new_privs, drops the supplementary groups and becomes nobody (65534),
// asks again to be killed with the lab (a change of user clears that), and
// executes the program: by its path when nobody may search its directory,
// else through a descriptor opened as root and closed at exec. It returns
// only on failure, with the exit status to use.
func Shim(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "lab drop-privileges: no program")
		return 2
	}
	if err := dropAndExec(args); err != nil {
		fmt.Fprintf(os.Stderr, "lab drop-privileges: %s: %v\n", args[0], err)
	}
	return 126
}

func dropAndExec(args []string) error {
	runtime.LockOSThread() // capability sets and no_new_privs are per thread: this one execs
	parent := os.Getppid()
	path := args[0]
	var fd = -1
	if !searchable(dirOf(path), Nobody, Nobody) {
		f, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		fd = f
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return fmt.Errorf("read the last capability: %w", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("cap_last_cap %q: %w", b, err)
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear the inheritable capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(Nobody, Nobody, Nobody); err != nil {
		return fmt.Errorf("setresgid %d: %w", Nobody, err)
	}
	if err := syscall.Setresuid(Nobody, Nobody, Nobody); err != nil {
		return fmt.Errorf("setresuid %d: %w", Nobody, err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal: %w", err)
	}
	if os.Getppid() != parent {
		os.Exit(1) // the lab died before the signal was set again: so does the instance
	}
	if fd >= 0 {
		return execveat(fd, args, os.Environ())
	}
	return syscall.Exec(path, args, os.Environ())
}

func dirOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return path[:i]
}

// execveat executes the file open at fd (execveat with AT_EMPTY_PATH); it
// returns only on failure.
func execveat(fd int, argv, env []string) error {
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	argvp, err := ptrs(argv)
	if err != nil {
		return err
	}
	envp, err := ptrs(env)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return e
}

// ptrs is ss as a NULL-terminated array of C strings.
func ptrs(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}
