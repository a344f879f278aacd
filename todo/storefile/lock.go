package storefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Name is the database's file name inside the shared data directory.
const Name = "simplydone.db"

// The WAL-index locks in SQLite's -shm file: the write lock, the
// checkpointer lock, the recovery lock and the five read marks (bytes 120
// to 127; sqlite3 src/wal.c, WALINDEX_LOCK_OFFSET and WAL_NREADER).
const (
	walLockOffset = 120
	walLocks      = 8
)

// holders are the databases whose locks this process holds, by path: one
// descriptor and one set of locks per database, shared by every Lock until
// the last release. POSIX record locks belong to the process, and closing
// any descriptor of the file drops all of them: two overlapping outages
// with a descriptor each would lose both outages' locks when the first
// ended.
var holders = struct {
	sync.Mutex
	m map[string]*lockHolder
}{m: map[string]*lockHolder{}}

type lockHolder struct {
	f    *os.File
	refs int
}

// Lock takes every WAL-index lock of the database at path, one byte at a
// time as each comes free, and holds them until release: writers then
// cannot write and readers cannot start a read, so every statement that
// touches the database (SimplyDone's deep health check too) waits and
// fails. The locks are the calling process's own: they are gone with it,
// so a crash cannot leave the database locked. Overlapping Locks of the
// same database share one holder; the locks go with the last release.
func Lock(ctx context.Context, path string) (release func() error, err error) {
	key := filepath.Clean(path)
	holders.Lock()
	defer holders.Unlock()
	h, ok := holders.m[key]
	if !ok {
		f, err := take(ctx, path)
		if err != nil {
			return nil, err
		}
		h = &lockHolder{f: f}
		holders.m[key] = h
	}
	h.refs++
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			holders.Lock()
			defer holders.Unlock()
			h.refs--
			if h.refs > 0 {
				return
			}
			delete(holders.m, key)
			lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0, Start: walLockOffset, Len: walLocks}
			err = errors.Join(syscall.FcntlFlock(h.f.Fd(), syscall.F_SETLK, &lk), h.f.Close())
		})
		return err
	}, nil
}

// take opens the database's -shm file and takes its WAL-index locks.
func take(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lock %s: the database is not open in WAL mode by any instance: %w", path, err)
	}
	if err := checkOwnFile(f, path+"-shm"); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b := int64(walLockOffset); b < walLockOffset+walLocks; {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: b, Len: 1}
		err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
		switch {
		case err == nil:
			b++
		case !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES):
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		case time.Now().After(deadline) || ctx.Err() != nil:
			f.Close()
			return nil, fmt.Errorf("lock %s: byte %d stayed locked by an instance for 5 s", path, b)
		default:
			time.Sleep(time.Millisecond) // an instance holds it for one statement
		}
	}
	return f, nil
}

// checkOwnFile refuses a file that is not a regular file, or is owned by
// neither this user nor the instances' user (65534): the lab opens it with
// its own rights.
func checkOwnFile(f *os.File, name string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() && st.Uid != 65534 {
		return fmt.Errorf("%s is owned by uid %d, neither you nor the instances' user", name, st.Uid)
	}
	return nil
}

// Locked says whether another process holds a WAL-index lock of the
// database at path now. A database never opened in WAL mode is not locked.
func Locked(path string) (bool, error) {
	holders.Lock()
	defer holders.Unlock()
	if h, ok := holders.m[filepath.Clean(path)]; ok {
		// Opening and closing another descriptor would drop this process's
		// own locks; F_GETLK on the holder's reports only other processes'.
		return getlk(h.f)
	}
	f, err := os.OpenFile(path+"-shm", os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	if err := checkOwnFile(f, path+"-shm"); err != nil {
		return false, err
	}
	return getlk(f)
}

func getlk(f *os.File) (bool, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: walLockOffset, Len: walLocks}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != syscall.F_UNLCK, nil
}
