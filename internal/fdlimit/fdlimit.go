package fdlimit

import (
	"errors"
	"sync/atomic"
	"syscall"
)

var exhausted atomic.Int64

// Note counts err when it says the process or the system ran out of file
// descriptors, and returns err unchanged.
func Note(err error) error {
	if Is(err) {
		exhausted.Add(1)
	}
	return err
}

// Is reports whether err is EMFILE or ENFILE, wrapped or not.
func Is(err error) bool {
	return err != nil && (errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE))
}

// Exhausted is how many failures Note has counted since the process
// started; a run reads it at its start and at its end.
func Exhausted() int64 { return exhausted.Load() }

// Limit is the process's soft limit on open files (0 when unreadable).
func Limit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}
