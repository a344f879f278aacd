package osproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc reads a proc file system. The zero value reads /proc; tests give a
// Root of their own (a faked tree).
type Proc struct {
	Root string // default /proc
}

func (p Proc) path(parts ...string) string {
	root := p.Root
	if root == "" {
		root = "/proc"
	}
	return filepath.Join(append([]string{root}, parts...)...)
}

// ID names one process for good: its pid, its start time in clock ticks
// since boot, and the boot it ran in.
type ID struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start_ticks"` // field 22 of /proc/PID/stat
	Boot  string `json:"boot_id"`     // /proc/sys/kernel/random/boot_id
}

// Valid reports whether id has every part.
func (id ID) Valid() bool { return id.PID > 0 && id.Start > 0 && id.Boot != "" }

func (id ID) String() string {
	return fmt.Sprintf("pid %d (started at tick %d of boot %s)", id.PID, id.Start, id.Boot)
}

// BootID is the id of the running kernel's boot.
func (p Proc) BootID() (string, error) {
	b, err := os.ReadFile(p.path("sys", "kernel", "random", "boot_id"))
	if err != nil {
		return "", fmt.Errorf("boot id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", errors.New("boot id: empty")
	}
	return id, nil
}

// stat returns the fields of /proc/PID/stat after the command name: index
// 0 is field 3 (the state), index 19 is field 22 (the start time).
func (p Proc) stat(pid int) ([]string, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pid %d", pid)
	}
	b, err := os.ReadFile(p.path(strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	// The command name is in parentheses and may hold both and spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("pid %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("pid %d: stat has %d fields after the name", pid, len(f))
	}
	return f, nil
}

// Identify returns the id of the process pid names now.
func (p Proc) Identify(pid int) (ID, error) {
	f, err := p.stat(pid)
	if err != nil {
		return ID{}, fmt.Errorf("identify pid %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("identify pid %d: start time %q: %w", pid, f[19], err)
	}
	boot, err := p.BootID()
	if err != nil {
		return ID{}, fmt.Errorf("identify pid %d: %w", pid, err)
	}
	return ID{PID: pid, Start: start, Boot: boot}, nil
}

// Same reports whether id still names a live process: same pid, same start
// tick, same boot, and not a zombie. An id with a part missing names none.
func (p Proc) Same(id ID) bool {
	if !id.Valid() {
		return false
	}
	now, err := p.Identify(id.PID)
	return err == nil && now == id && !p.Zombie(id.PID)
}

// Zombie reports whether pid has exited (a zombie, dead, or gone).
func (p Proc) Zombie(pid int) bool {
	f, err := p.stat(pid)
	return err != nil || f[0] == "Z" || f[0] == "X"
}

// HasEnv reports whether pid's environment carries every one of kvs
// ("KEY=value"); false when it cannot be read.
func (p Proc) HasEnv(pid int, kvs ...string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(p.path(strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	have := bytes.Split(b, []byte{0})
	for _, kv := range kvs {
		found := false
		for _, h := range have {
			if string(h) == kv {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// The host's /proc.
var host Proc

// Identify returns the id of the process pid names now, from /proc.
func Identify(pid int) (ID, error) { return host.Identify(pid) }

// Self is this process's id.
func Self() (ID, error) { return host.Identify(os.Getpid()) }

// Same reports whether id still names a live process, from /proc.
func Same(id ID) bool { return host.Same(id) }

// Zombie reports whether pid has exited, from /proc.
func Zombie(pid int) bool { return host.Zombie(pid) }

// HasEnv reports whether pid's environment carries every one of kvs, from /proc.
func HasEnv(pid int, kvs ...string) bool { return host.HasEnv(pid, kvs...) }
