package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Nobody is the unprivileged user and group instances and CPU hogs run as
// when the lab runs as root, as the Docker runtime's containers do.
const Nobody = 65534

// geteuid is os.Geteuid; tests play the lab run by another user.
var geteuid = os.Geteuid

// credential is who a process the runtime starts runs as: nobody, with no
// supplementary groups, when the lab is root (the kernel then clears every
// capability, permitted, effective and ambient, at the change of user; none
// is added back); nil (the lab's own user) otherwise.
func credential() *syscall.Credential {
	if geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: Nobody, Gid: Nobody, Groups: []uint32{}}
}

// sysProcAttr is every started process's attributes: its own process group,
// killed with the lab, and nobody's credential when the lab is root, with no
// ambient capabilities.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: credential(), AmbientCaps: nil}
}

// execThroughFD makes cmd execute its program through an open descriptor
// (/proc/self/fd/3 in the child), so that nobody can run a program in a
// directory it may not search (a test's temporary directory, root's home):
// the program file itself must still be executable by others. It is the
// last resort, used only when nobody cannot search the program's directory:
// the program then sees /proc/self/fd/3 as its path ($0, comm "3") and the
// descriptor (O_PATH, no access to the file's contents) stays open in it.
// The returned file is the caller's to close once the process has started.
func execThroughFD(cmdPath string, extra *[]*os.File) (string, *os.File, error) {
	f, err := os.OpenFile(cmdPath, os.O_RDONLY|unix.O_PATH|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	*extra = append(*extra, f)
	return fmt.Sprintf("/proc/self/fd/%d", 2+len(*extra)), f, nil
}

var inheritedOnce sync.Once

// closeInheritedOnExec marks close-on-exec every descriptor above stderr
// that the lab inherited open without it (Go's own are opened with it):
// exec.Cmd passes any such descriptor on, so an instance would otherwise
// hold whatever the shell that started the lab left open (a terminal's
// pipe, a job runner's files). The lab itself keeps them.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
}

// shared is the data directories the runtimes of this process moved, and
// how many of them use each (by the run's data directory, absolute).
// Several runtimes in one process share a run's data directory (the zones'
// agents in the lab's process, each with its own runtime): the first moves
// it, the others use it where it went, and the last to end puts it back.
var shared = struct {
	sync.Mutex
	dirs map[string]*sharedDir
}{dirs: map[string]*sharedDir{}}

type sharedDir struct {
	rec   movedRecord
	users int
}

// dataDirs prepares the run's shared data directory for instances that run
// as nobody, and puts it back when the run ends.
type dataDirs struct {
	stateDir, runID string // where the moves are recorded (datadir.go), for a reaper after a crash

	mu    sync.Mutex
	moved map[string]movedRecord // the run's data directory (the spec's path) -> the link made there and where its files went
}

// record writes down every move now in effect; d.mu must be held.
func (d *dataDirs) record() error {
	if d.stateDir == "" {
		return nil
	}
	var recs []movedRecord
	for _, m := range d.moved {
		recs = append(recs, m)
	}
	return writeMoved(d.stateDir, d.runID, recs)
}

// prepare makes dir ready for instances that run as nobody and returns the
// path they use. dir is owned by nobody, mode 0700. If nobody cannot reach
// dir (a parent it may not search: a 0700 temporary directory, root's home),
// the directory is made in the system's temporary directory instead and dir
// becomes a symbolic link to it, so the lab reads the same files by the
// run's path; restore moves it back when the run ends. When the lab is not
// root, instances run as the lab's own user and dir is used where it is,
// made owner-only (0700).
func (d *dataDirs) prepare(dir string) (string, error) {
	if dir == "" {
		return dir, nil
	}
	if credential() == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("data dir: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", fmt.Errorf("data dir: %w", err)
		}
		return dir, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.moved[dir]; ok {
		return m.Moved, nil
	}
	key, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	shared.Lock()
	defer shared.Unlock()
	if sd, ok := shared.dirs[key]; ok { // another runtime of this process moved it
		if d.moved == nil {
			d.moved = map[string]movedRecord{}
		}
		d.moved[dir] = sd.rec
		sd.users++
		return sd.rec.Moved, d.record()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	if !searchable(filepath.Dir(real), Nobody, Nobody) {
		entries, err := os.ReadDir(real)
		if err != nil {
			return "", fmt.Errorf("data dir: %w", err)
		}
		if len(entries) > 0 {
			return "", fmt.Errorf("data dir %s: user %d (nobody) cannot reach it (a parent directory it may not search) and it is not empty, so it cannot be moved where it can; put the runs directory where that user can reach it", dir, Nobody)
		}
		tmp, err := os.MkdirTemp("", tempDataPrefix)
		if err != nil {
			return "", fmt.Errorf("data dir: %w", err)
		}
		link, err := filepath.Abs(real)
		if err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("data dir: %w", err)
		}
		if d.moved == nil {
			d.moved = map[string]movedRecord{}
		}
		// Recorded before the move, so a crash at any point leaves a
		// record for the next reaper (datadir.go).
		d.moved[dir] = movedRecord{Link: link, Moved: tmp}
		if err := d.record(); err != nil {
			delete(d.moved, dir)
			os.Remove(tmp)
			return "", fmt.Errorf("data dir: %w", err)
		}
		undo := func(err error) (string, error) {
			delete(d.moved, dir)
			os.Remove(tmp)
			return "", errors.Join(fmt.Errorf("data dir: %w", err), d.record())
		}
		if err := os.Remove(real); err != nil {
			return undo(err)
		}
		if err := os.Symlink(tmp, real); err != nil {
			return undo(err)
		}
		shared.dirs[key] = &sharedDir{rec: d.moved[dir], users: 1}
		real = tmp
	}
	if err := os.Chown(real, Nobody, Nobody); err != nil {
		return "", fmt.Errorf("data dir: give it to user %d: %w", Nobody, err)
	}
	if err := os.Chmod(real, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return real, nil
}

// restore moves every data directory prepare moved back to the run's
// directory (a rename, or a copy across filesystems); one that cannot be
// moved keeps its link and stays recorded. One that another runtime of this
// process still uses is left where it is, for the last to put back.
func (d *dataDirs) restore() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	shared.Lock()
	defer shared.Unlock()
	var errs []error
	for dir, m := range d.moved {
		key, _ := filepath.Abs(dir)                            // prepare made it absolute once
		if sd := shared.dirs[key]; sd != nil && sd.users > 1 { // another runtime of this process still uses it: the last puts it back
			sd.users--
			delete(d.moved, dir)
			continue
		}
		delete(shared.dirs, key)
		if err := os.Remove(m.Link); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := moveDir(m.Moved, m.Link); err != nil {
			errs = append(errs, errors.Join(fmt.Errorf("move the data back from %s: %w", m.Moved, err), os.Symlink(m.Moved, m.Link)))
			continue
		}
		delete(d.moved, dir)
	}
	return errors.Join(append(errs, d.record())...)
}

// searchable reports whether uid (in group gid, with no other groups) may
// search every directory from / down to dir.
func searchable(dir string, uid, gid uint32) bool {
	for {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return false
		}
		bit := uint32(0o001)
		switch {
		case st.Uid == uid:
			bit = 0o100
		case st.Gid == gid:
			bit = 0o010
		}
		if st.Mode&bit == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}
