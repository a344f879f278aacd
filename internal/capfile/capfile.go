package capfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Limit is the size at which a run's log file is capped: 64 MiB, about
// 150,000 access log lines (SimplyDone's run ~440 bytes each), 50 minutes
// at 50 requests/s.
const Limit = 64 << 20

// Writer passes writes through to a file until it holds limit bytes, then
// writes one note line and drops the rest. It cuts at a line's end, so the
// file never ends in half a line. It never fails a write because of the
// cap: a writer behind it (an access log, a process's output) goes on.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	name    string
	size    int64 // bytes in the file
	limit   int64
	capped  bool
	dropped int64
	err     error // the first write error of the file beneath
}

// New caps w, which already holds size bytes (a file opened to append), at
// limit bytes; name is what the note line calls it.
func New(w io.Writer, size, limit int64, name string) *Writer {
	return &Writer{w: w, name: name, size: size, limit: limit}
}

// Open opens path to append, capped at limit: owner-only (0600), and never
// through a symbolic link.
func Open(path string, limit int64) (*Writer, *os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	w := New(f, st.Size(), limit, st.Name())
	note := Note(st.Name(), limit)
	if n := int64(len(note)); st.Size() >= n {
		tail := make([]byte, n)
		if _, err := f.ReadAt(tail, st.Size()-n); err == nil && string(tail) == note {
			w.capped = true // capped earlier in the run (an instance restarted): no second allowance, no second note
		}
	}
	return w, f, nil
}

// Note is the line written when a file reaches its cap.
func Note(name string, limit int64) string {
	return fmt.Sprintf("# lab: %s reached its cap of %s for this run; later lines are dropped, not written\n", name, Size(limit))
}

// Size writes a byte count as people read it: 64 MiB, 512 KiB, 100 B.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Write writes p, or the lines of it that fit under the cap.
func (c *Writer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.capped {
		c.dropped += int64(len(p))
		return len(p), nil
	}
	note := Note(c.name, c.limit)
	room := c.limit - c.size - int64(len(note))
	if int64(len(p)) <= room {
		c.write(p)
		return len(p), nil
	}
	keep := p[:max(0, room)]
	if i := bytes.LastIndexByte(keep, '\n'); i >= 0 {
		keep = keep[:i+1]
	} else {
		keep = nil
	}
	c.write(keep)
	c.write([]byte(note))
	c.capped = true
	c.dropped += int64(len(p) - len(keep))
	return len(p), nil
}

func (c *Writer) write(b []byte) {
	if len(b) == 0 || c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.size += int64(n)
	c.err = err
}

// Capped says whether the cap was reached, and how many bytes were dropped
// since.
func (c *Writer) Capped() (bool, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capped, c.dropped
}

// Err is the first error writing the file beneath, if any.
func (c *Writer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
