package fdlimit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestNoteCountsOnlyRunningOutOfDescriptors(t *testing.T) {
	before := Exhausted()
	emfile := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	for _, err := range []error{
		emfile,
		fmt.Errorf("forward: %w", emfile),
		syscall.ENFILE,
	} {
		if got := Note(err); got != err {
			t.Errorf("Note(%v) returned %v, want the error unchanged", err, got)
		}
	}
	for _, err := range []error{nil, syscall.ECONNREFUSED, errors.New("too many open files, said as text only")} {
		Note(err)
	}
	if got := Exhausted() - before; got != 3 {
		t.Errorf("counted %d, want 3 (two EMFILE, one ENFILE; not a refusal, not nil, not text)", got)
	}
}

// A real EMFILE: with the limit lowered and every free descriptor below
// it taken, the next socket fails and is counted.
func TestARealExhaustionIsCounted(t *testing.T) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Skip(err)
	}
	low := r
	low.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			t.Fatal(err)
		}
	}()
	var held []int
	defer func() {
		for _, fd := range held {
			syscall.Close(fd)
		}
	}()
	for {
		fd, err := syscall.Dup(0)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Skipf("dup: %v", err)
			}
			break
		}
		held = append(held, fd)
	}
	before := Exhausted()
	_, derr := net.Dial("tcp", "127.0.0.1:1")
	if !Is(Note(derr)) {
		t.Fatalf("dial with every descriptor taken: %v, want EMFILE", derr)
	}
	if Exhausted()-before != 1 {
		t.Errorf("counted %d, want 1", Exhausted()-before)
	}
	if Limit() != 256 {
		t.Errorf("Limit() = %d, want 256", Limit())
	}
}
