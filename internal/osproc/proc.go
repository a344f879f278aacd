package osproc

import (
	"bytes"
	"context"
	"fmt"
	"os"

	gproc "github.com/shirou/gopsutil/v3/process"
)

// CreateTime is the start time of pid as gopsutil reports it (ms since the
// epoch); with pid it names one process for good.
func CreateTime(ctx context.Context, pid int) (int64, error) {
	p, err := gproc.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return 0, err
	}
	return p.CreateTimeWithContext(ctx)
}

// Same reports whether pid is still the process that started at ct and is
// not a zombie.
func Same(ctx context.Context, pid int, ct int64) bool {
	if pid <= 0 || ct <= 0 {
		return false
	}
	got, err := CreateTime(ctx, pid)
	return err == nil && got == ct && !Zombie(pid)
}

// Zombie reports whether pid has exited (a zombie, dead, or gone).
func Zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// HasEnv reports whether pid's environment carries every one of kvs
// ("KEY=value"); false when it cannot be read.
func HasEnv(pid int, kvs ...string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
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
