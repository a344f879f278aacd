package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"time"
)

// The registry maps the type name the journal writes (see TypeName) to the
// event type that carries it. Each package that defines events registers
// them, in an init function, so that reading a journal gives back the real
// typed values and not a guess at their fields.
var (
	regMu    sync.RWMutex
	registry = map[string]reflect.Type{}
)

// Register makes Decode return values of each prototype's type for journal
// lines of its type name. Registering one type twice is harmless; two types
// under one name panic, since the journal could not tell them apart.
func Register(prototypes ...Event) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, p := range prototypes {
		t := eventType(p)
		name := t.Name()
		if prev, ok := registry[name]; ok && prev != t {
			panic(fmt.Sprintf("events: %s and %s both journal as %q", prev, t, name))
		}
		registry[name] = t
	}
}

// Registered returns the zero value of every registered event type, sorted
// by type name.
func Registered() []Event {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]Event, 0, len(names))
	for _, n := range names {
		out = append(out, reflect.Zero(registry[n]).Interface().(Event))
	}
	return out
}

// Unknown is a journalled event whose type no package of this program
// registered: its kind, its message and its fields as written.
type Unknown struct {
	Type   string
	Of     string // the kind
	Text   string // the message
	Fields json.RawMessage
}

func (u Unknown) Kind() string    { return u.Of }
func (u Unknown) Message() string { return u.Text }

// MarshalJSON writes the fields as they were read.
func (u Unknown) MarshalJSON() ([]byte, error) {
	if len(u.Fields) == 0 {
		return []byte("null"), nil
	}
	return u.Fields, nil
}

// journalLine is an envelope as the journal writes it.
type journalLine struct {
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Wall    time.Time       `json:"wall"`
	Kind    string          `json:"kind"`
	Type    string          `json:"type"`
	Event   json.RawMessage `json:"event"`
	Message string          `json:"message"`
}

// UnmarshalJSON reads one journal line: the event becomes a value of its
// registered type (Unknown when none is), and Message returns the line's
// message as it was written.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var l journalLine
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*e = Envelope{Seq: l.Seq, Time: l.Time, Wall: l.Wall, Kind: l.Kind, Type: l.Type, message: l.Message}
	regMu.RLock()
	t, ok := registry[l.Type]
	regMu.RUnlock()
	if !ok {
		e.Event = Unknown{Type: l.Type, Of: l.Kind, Text: l.Message, Fields: l.Event}
		return nil
	}
	v := reflect.New(t)
	if len(l.Event) > 0 {
		if err := json.Unmarshal(l.Event, v.Interface()); err != nil {
			return fmt.Errorf("event %d (%s): %w", l.Seq, l.Type, err)
		}
	}
	e.Event = v.Elem().Interface().(Event)
	return nil
}

// Decode reads one journal line.
func Decode(line []byte) (Envelope, error) {
	var e Envelope
	err := json.Unmarshal(line, &e)
	return e, err
}

// Reader reads a journal (events.jsonl) one envelope at a time.
type Reader struct {
	sc   *bufio.Scanner
	line int
}

// NewReader reads the journal r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	return &Reader{sc: sc}
}

// Next returns the next envelope, skipping blank lines, and io.EOF after
// the last. Its errors name the line.
func (r *Reader) Next() (Envelope, error) {
	for r.sc.Scan() {
		r.line++
		line := bytes.TrimSpace(r.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e, err := Decode(line)
		if err != nil {
			return Envelope{}, fmt.Errorf("journal line %d: %w", r.line, err)
		}
		return e, nil
	}
	if err := r.sc.Err(); err != nil {
		return Envelope{}, fmt.Errorf("journal line %d: %w", r.line+1, err)
	}
	return Envelope{}, io.EOF
}
