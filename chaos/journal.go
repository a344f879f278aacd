package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/simplydone/lab/internal/osproc"
)

// Journal is where a fault is written down, durably, before it acts, and
// again when it is reverted.
type Journal interface {
	Record(entry any) error
}

// FileJournal appends one JSON line per entry to a file and syncs it to
// disk before returning, so a fault is on record before it touches anything.
type FileJournal struct {
	mu sync.Mutex
	f  *os.File
}

// JournalOpened is the first entry each process writes to a journal: who
// owns the faults that follow, so that `lab down` leaves a live run alone.
type JournalOpened struct {
	PID   int   `json:"pid"`
	Start int64 `json:"start"` // the process's start time, ms since the epoch (with PID it names one process)
}

// OpenFileJournal creates (or appends to) the journal at path and records
// the process that owns it.
func OpenFileJournal(path string) (*FileJournal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open chaos journal: %w", err)
	}
	j := &FileJournal{f: f}
	start, _ := osproc.CreateTime(context.Background(), os.Getpid())
	if err := j.Record(JournalOpened{PID: os.Getpid(), Start: start}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// Record writes entry as a JSON line and syncs.
func (j *FileJournal) Record(entry any) error {
	b, err := json.Marshal(struct {
		Type  string `json:"type"`
		Entry any    `json:"entry"`
	}{fmt.Sprintf("%T", entry), entry})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write chaos journal: %w", err)
	}
	return j.f.Sync()
}

// Close closes the file.
func (j *FileJournal) Close() error { return j.f.Close() }

// alive says whether the journal's owner is still running.
func (o JournalOpened) alive() bool {
	return osproc.Same(context.Background(), o.PID, o.Start)
}

// Undoer undoes, after a crash, a fault its run left in effect: what lives
// outside the crashed process (stopped, paused or hogged instances,
// processes it started). It says what it found.
type Undoer interface {
	Undo(ctx context.Context, f FaultInjected) (note string, err error)
}

// ErrOwnerAlive is returned by Replay for a journal whose run is still
// running: its faults are its own to revert.
var ErrOwnerAlive = errors.New("the run that owns this journal is still running")

// Outstanding reads a journal and returns the faults injected without a
// matching revert, in order, and the journal's last owner.
func Outstanding(path string) ([]FaultInjected, JournalOpened, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, JournalOpened{}, err
	}
	defer f.Close()
	var owner JournalOpened
	open := map[int]FaultInjected{}
	var order []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Type  string          `json:"type"`
			Entry json.RawMessage `json:"entry"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue // a line cut short by the crash
		}
		switch line.Type {
		case "chaos.JournalOpened":
			json.Unmarshal(line.Entry, &owner)
		case "chaos.FaultInjected":
			var fi FaultInjected
			if json.Unmarshal(line.Entry, &fi) == nil {
				open[fi.N] = fi
				order = append(order, fi.N)
			}
		case "chaos.FaultReverted":
			var fr FaultReverted
			if json.Unmarshal(line.Entry, &fr) == nil {
				delete(open, fr.N)
			}
		}
	}
	var out []FaultInjected
	for _, n := range order {
		if fi, ok := open[n]; ok {
			out = append(out, fi)
			delete(open, n)
		}
	}
	return out, owner, sc.Err()
}

// endLine ends a journal's last line if the crash cut it short, so that
// the reverts appended after it are lines of their own (glued to the torn
// line, they would be unreadable, and every later replay would undo the
// fault again).
func endLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'})
	return err
}

// Replay undoes what a crashed run's journal at path left in effect: each
// fault injected without a matching revert is handed to u, and the revert
// is appended to the journal, so that a second replay finds nothing to do.
// It returns the reverts it recorded.
func Replay(ctx context.Context, path string, u Undoer) ([]FaultReverted, error) {
	left, owner, err := Outstanding(path)
	if err != nil {
		return nil, fmt.Errorf("read chaos journal %s: %w", path, err)
	}
	if len(left) == 0 {
		return nil, nil
	}
	if owner.alive() {
		return nil, fmt.Errorf("%s: %w (pid %d)", path, ErrOwnerAlive, owner.PID)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open chaos journal: %w", err)
	}
	j := &FileJournal{f: f}
	defer j.Close()
	if err := endLine(f); err != nil {
		return nil, fmt.Errorf("chaos journal %s: %w", path, err)
	}
	var out []FaultReverted
	var errs []error
	for _, fi := range left {
		note, err := u.Undo(ctx, fi)
		if err != nil {
			errs = append(errs, fmt.Errorf("chaos #%d %s: %w", fi.N, fi.Action, err))
			continue // left open: a later lab down tries again
		}
		fr := FaultReverted{N: fi.N, Action: fi.Action, Instance: fi.Instance,
			Note: "reverted by lab down after the run ended without reverting it; " + note}
		if err := j.Record(fr); err != nil {
			return out, err
		}
		out = append(out, fr)
	}
	return out, errors.Join(errs...)
}
