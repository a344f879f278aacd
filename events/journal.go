package events

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"
)

func typeName(e Event) string {
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Journal writes every event as one JSON line.
type Journal struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

// NewJournal writes to w; call Flush when the bus is closed.
func NewJournal(w io.Writer) *Journal { return &Journal{w: bufio.NewWriter(w)} }

// Handle is a bus Handler.
func (j *Journal) Handle(e Envelope) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		j.err = fmt.Errorf("journal event %d: %w", e.Seq, err)
		return
	}
	b = append(b, '\n')
	if _, err := j.w.Write(b); err != nil {
		j.err = fmt.Errorf("journal write: %w", err)
	}
}

// Flush writes what is buffered and reports the first error seen.
func (j *Journal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.w.Flush(); err != nil && j.err == nil {
		j.err = fmt.Errorf("journal flush: %w", err)
	}
	return j.err
}
