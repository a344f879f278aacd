package todo

import (
	"crypto/sha256"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// burnBatch is how many sha256 rounds run between clock reads; one round of
// a 32-byte input is well under a microsecond, so the overshoot is tiny.
const burnBatch = 64

// burnCPU keeps the calling goroutine busy hashing until its thread has
// used about d of CPU time, and returns the number of sha256 rounds it ran.
// It counts CPU time, not wall time: when the instance is short of CPU (its
// share is used up, or the machine is busy), a request still costs d of CPU
// and takes longer on the wall, as real work does. d <= 0 returns at once.
func burnCPU(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	runtime.LockOSThread() // the thread's CPU clock must be this goroutine's
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok {
		return burnWall(d)
	}
	sum := sha256.Sum256([]byte("simplydone"))
	var rounds uint64
	for {
		for range burnBatch {
			sum = sha256.Sum256(sum[:])
		}
		rounds += burnBatch
		if now, _ := threadCPU(); now-start >= d {
			return rounds
		}
	}
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// burnWall is the fallback where no thread CPU clock exists: hash for d of
// wall time.
func burnWall(d time.Duration) uint64 {
	deadline := time.Now().Add(d)
	sum := sha256.Sum256([]byte("simplydone"))
	var rounds uint64
	for time.Now().Before(deadline) {
		for range burnBatch {
			sum = sha256.Sum256(sum[:])
		}
		rounds += burnBatch
	}
	return rounds
}
