package todo

import (
	"crypto/sha256"
	"time"
)

// burnBatch is how many sha256 rounds run between clock reads; one round of
// a 32-byte input is well under a microsecond, so the overshoot is tiny.
const burnBatch = 64

// burnCPU keeps the calling goroutine busy hashing for about d and returns
// the number of sha256 rounds it ran.
// d <= 0 returns at once.
func burnCPU(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
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
