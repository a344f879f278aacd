package events

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/clock"
)

// Event is something that happened in the lab. Concrete events are small
// structs defined by the package that publishes them.
type Event interface {
	// Kind groups events for filtering: "instance", "target-health", "lb", "lab".
	Kind() string
	// Message says what happened in AWS's words, for people.
	Message() string
}

// Envelope is an event as the bus delivers it.
type Envelope struct {
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"` // AWS time
	Wall  time.Time `json:"wall"` // wall time
	Kind  string    `json:"kind"`
	Type  string    `json:"type"`
	Event Event     `json:"event"`

	message string // as journalled, for an envelope read back (Decode)
}

// Message is the event's human line; for an envelope read from a journal,
// the line as it was written.
func (e Envelope) Message() string {
	if e.message != "" {
		return e.message
	}
	return e.Event.Message()
}

// MarshalJSON writes the envelope with the event's own fields and its message.
func (e Envelope) MarshalJSON() ([]byte, error) {
	type plain Envelope
	return json.Marshal(struct {
		plain
		Message string `json:"message"`
	}{plain(e), e.Message()})
}

// Handler receives events in publication order.
type Handler func(Envelope)

// Bus fans events out to subscribers.
type Bus struct {
	clock clock.Clock
	seq   atomic.Uint64

	mu     sync.Mutex
	subs   []*subscriber
	closed bool
	wg     sync.WaitGroup
}

// NewBus returns a bus stamping events with c's AWS time.
func NewBus(c clock.Clock) *Bus { return &Bus{clock: c} }

// Publish stamps e and queues it for every subscriber. After Close it is a no-op.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	env := Envelope{Seq: b.seq.Add(1), Time: b.clock.Now(), Wall: time.Now(), Kind: e.Kind(), Type: TypeName(e), Event: e}
	for _, s := range b.subs {
		s.push(env)
	}
}

// Subscribe calls h for every event published from now on, in order, on a
// goroutine the bus owns.
func (b *Bus) Subscribe(h Handler) {
	s := &subscriber{h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.subs = append(b.subs, s)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		s.run()
	}()
}

// Close stops accepting events, delivers what is queued, and waits for the
// subscribers to finish. Safe to call twice.
func (b *Bus) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for _, s := range b.subs {
			close(s.done)
		}
	}
	b.mu.Unlock()
	b.wg.Wait()
}

type subscriber struct {
	h    Handler
	mu   sync.Mutex
	q    []Envelope
	wake chan struct{}
	done chan struct{}
}

func (s *subscriber) push(e Envelope) {
	s.mu.Lock()
	s.q = append(s.q, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) drain() {
	for {
		s.mu.Lock()
		q := s.q
		s.q = nil
		s.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, e := range q {
			s.h(e)
		}
	}
}

func (s *subscriber) run() {
	for {
		select {
		case <-s.wake:
			s.drain()
		case <-s.done:
			s.drain()
			return
		}
	}
}
