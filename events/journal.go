package events

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"
)

// eventType is e's type, a pointer's element type for a pointer.
func eventType(e Event) reflect.Type {
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// TypeName is the name the journal writes in an envelope's "type": the
// event's Go type name, without its package.
func TypeName(e Event) string { return eventType(e).Name() }

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
