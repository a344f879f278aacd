package storefile

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// Lock takes every WAL-index lock of the database at path, one byte at a
// time as each comes free, and holds them until release: writers then
// cannot write and readers cannot start a read, so every statement that
// touches the database (SimplyDone's deep health check too) waits and
// fails. The locks are the calling process's own: they are gone with it,
// so a crash cannot leave the database locked.
func Lock(ctx context.Context, path string) (release func() error, err error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("lock %s: the database is not open in WAL mode by any instance: %w", path, err)
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
	released := false
	return func() error {
		if released {
			return nil
		}
		released = true
		lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0, Start: walLockOffset, Len: walLocks}
		err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
		return errors.Join(err, f.Close())
	}, nil
}

// Locked says whether another process holds a WAL-index lock of the
// database at path now. A database never opened in WAL mode is not locked.
func Locked(path string) (bool, error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: walLockOffset, Len: walLocks}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != syscall.F_UNLCK, nil
}
