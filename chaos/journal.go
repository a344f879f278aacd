package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/simplydone/lab/internal/osproc"
)

// Journal is where a fault is written down, durably, before it acts, and
// again when it is reverted.
type Journal interface {
	Record(entry any) error
}

// FileJournal appends one JSON line per entry to a file and syncs it to
// disk before returning, so a fault is on record before it touches anything.
// It holds an exclusive lock on the file while it is open: `lab down`
// replays only a journal whose lock it can take, so a live run's faults are
// never reverted under it.
type FileJournal struct {
	mu sync.Mutex
	f  *os.File
}

// JournalOpened is the first entry each process writes to a journal: who
// owns the faults that follow. Whether that owner is alive is told by the
// journal's lock, not by this entry; the entry says who it was.
type JournalOpened struct {
	PID     int       `json:"pid"`
	Process osproc.ID `json:"process"`
}

// openJournalFile opens the journal without following a symbolic link and
// checks that it is a regular file owned by this user: `lab down` reopens
// it, perhaps with more rights than the run had.
func openJournalFile(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open chaos journal: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		st, _ := fi.Sys().(*syscall.Stat_t)
		switch {
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("open chaos journal: %s is not a regular file", path)
		case st != nil && int(st.Uid) != os.Getuid():
			err = fmt.Errorf("open chaos journal: %s is owned by uid %d, not by you (uid %d)", path, st.Uid, os.Getuid())
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockJournal takes the journal's lock without blocking; ErrOwnerAlive
// when a live process holds it.
func lockJournal(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrOwnerAlive
	}
	return err
}

// OpenFileJournal creates (or appends to) the journal at path, takes its
// lock for as long as it is open, and records the process that owns it. A
// new journal's directory is synced, so the file itself survives a crash.
func OpenFileJournal(path string) (*FileJournal, error) {
	_, statErr := os.Lstat(path)
	f, err := openJournalFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY)
	if err != nil {
		return nil, err
	}
	if err := lockJournal(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open chaos journal %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// The new name, and the run directory's own (made just before).
		dir := filepath.Dir(path)
		if err := errors.Join(syncDir(dir), syncDir(filepath.Dir(dir))); err != nil {
			f.Close()
			return nil, fmt.Errorf("open chaos journal: %w", err)
		}
	}
	j := &FileJournal{f: f}
	self, _ := osproc.Self()
	if err := j.Record(JournalOpened{PID: os.Getpid(), Process: self}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// syncDir syncs a directory, so the names created in it are on disk; a
// variable so that a test can see which directories a new journal syncs.
var syncDir = syncDirFile

func syncDirFile(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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

// Close closes the file, and with it drops the journal's lock.
func (j *FileJournal) Close() error { return j.f.Close() }

// Undoer undoes, after a crash, a fault its run left in effect: what lives
// outside the crashed process (stopped, paused or hogged instances,
// processes it started). It says what it found.
type Undoer interface {
	Undo(ctx context.Context, f FaultInjected) (note string, err error)
}

// ErrGone is what a revert returns (wrapped) when what the fault acted on
// is gone (the instance was terminated): there is nothing left to undo, and
// the fault is closed. Any other error leaves it open for `lab down`.
var ErrGone = errors.New("what the fault acted on is gone")

// ErrOwnerAlive is returned by Replay for a journal whose run is still
// running: its faults are its own to revert.
var ErrOwnerAlive = errors.New("the run that owns this journal is still running")

// Outstanding reads a journal and returns the faults injected without a
// matching revert, in order, and the journal's last owner. A revert that
// failed (FaultReverted.Open) leaves its fault outstanding.
func Outstanding(path string) ([]FaultInjected, JournalOpened, error) {
	f, err := openJournalFile(path, os.O_RDONLY)
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
			if json.Unmarshal(line.Entry, &fr) == nil && !fr.Open {
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
// It first takes the journal's lock without blocking: a journal whose run
// holds it is left alone (ErrOwnerAlive). It returns the reverts it recorded.
func Replay(ctx context.Context, path string, u Undoer) ([]FaultReverted, error) {
	return replay(ctx, path, u, false)
}

// ReplayIfOwnerGone is Replay for a journal whose run has no other sign of
// life to go by (no lock file in the state directory in use, as when a run
// directory was copied, or is replayed with another state directory): it
// also leaves the journal alone (ErrOwnerAlive) while the process its
// JournalOpened names (pid, start tick and boot) is alive, even if nothing
// holds the journal's lock. A journal that names no process is replayed as
// Replay would.
func ReplayIfOwnerGone(ctx context.Context, path string, u Undoer) ([]FaultReverted, error) {
	return replay(ctx, path, u, true)
}

func replay(ctx context.Context, path string, u Undoer, ownerGone bool) ([]FaultReverted, error) {
	f, err := openJournalFile(path, os.O_APPEND|os.O_RDWR) // read: endLine looks at the last byte
	if err != nil {
		return nil, err
	}
	j := &FileJournal{f: f}
	defer j.Close()
	if err := lockJournal(f); err != nil {
		_, owner, _ := Outstanding(path)
		return nil, fmt.Errorf("%s: %w (pid %d)", path, err, owner.PID)
	}
	left, owner, err := Outstanding(path)
	if err != nil {
		return nil, fmt.Errorf("read chaos journal %s: %w", path, err)
	}
	if ownerGone && osproc.Same(owner.Process) {
		return nil, fmt.Errorf("%s: %w (%s holds no lock on it, but is alive)", path, ErrOwnerAlive, owner.Process)
	}
	if len(left) == 0 {
		return nil, nil
	}
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
