package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
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

// OpenFileJournal creates (or appends to) the journal at path.
func OpenFileJournal(path string) (*FileJournal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open chaos journal: %w", err)
	}
	return &FileJournal{f: f}, nil
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
