package clock

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Clock tells AWS time and waits for AWS durations.
type Clock interface {
	// Now is the current AWS time.
	Now() time.Time
	// After fires once d of AWS time has passed.
	After(d time.Duration) <-chan time.Time
	// NewTicker ticks every d of AWS time.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine once d of AWS time has passed.
	AfterFunc(d time.Duration, f func()) Timer
	// Wall is how long an AWS duration lasts on the wall.
	Wall(d time.Duration) time.Duration
	// Speed is how many AWS seconds pass per wall second.
	Speed() float64
}

// Ticker delivers ticks on C until stopped.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Timer is a pending AfterFunc; Stop reports whether it stopped the call.
type Timer interface {
	Stop() bool
}

// Scaled is a Clock on which one wall second lasts Speed AWS seconds.
type Scaled struct {
	speed float64
	start time.Time // wall and AWS time agree at start
}

// NewScaled returns a clock running speed times faster than the wall.
// Speed must be at least 1; speeds below one would slow AWS down.
func NewScaled(speed float64) (*Scaled, error) {
	if speed < 1 || speed > 1000 {
		return nil, fmt.Errorf("clock speed %g is out of range; allowed 1 to 1000", speed)
	}
	return &Scaled{speed: speed, start: time.Now()}, nil
}

// NewScaledFrom is NewScaled with wall and AWS time agreeing at start
// rather than now: another host's clock for the same run (an agent's load
// balancer node) starts at the controller's start, so that both say the
// same AWS time, up to the skew between the hosts' wall clocks.
func NewScaledFrom(speed float64, start time.Time) (*Scaled, error) {
	c, err := NewScaled(speed)
	if err != nil {
		return nil, err
	}
	c.start = start
	return c, nil
}

// Start is the wall time at which the clock's AWS time agreed with it.
func (c *Scaled) Start() time.Time { return c.start }

// Real is a clock at speed 1.
func Real() *Scaled { return &Scaled{speed: 1, start: time.Now()} }

func (c *Scaled) Speed() float64 { return c.speed }

func (c *Scaled) Now() time.Time { return c.At(time.Now()) }

// At is the AWS time at the wall time wall: Now is At(time.Now()), for a
// caller that has just read the wall clock.
func (c *Scaled) At(wall time.Time) time.Time {
	return c.start.Add(time.Duration(float64(wall.Sub(c.start)) * c.speed))
}

func (c *Scaled) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

func (c *Scaled) After(d time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	time.AfterFunc(c.Wall(d), func() { out <- c.Now() })
	return out
}

func (c *Scaled) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(c.Wall(d), f)
}

func (c *Scaled) NewTicker(d time.Duration) Ticker {
	w := c.Wall(d)
	if w <= 0 {
		w = time.Nanosecond
	}
	return realTicker{time.NewTicker(w)}
}

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// Fake is a Clock that moves only when Advance is called.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
}

type waiter struct {
	at     time.Time
	period time.Duration // >0 for tickers
	ch     chan time.Time
	fn     func()
	dead   bool
}

// NewFake returns a fake clock standing at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (f *Fake) Speed() float64                     { return 1 }
func (f *Fake) Wall(d time.Duration) time.Duration { return d }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) add(w *waiter) *waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiters = append(f.waiters, w)
	return w
}

func (f *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.add(&waiter{at: f.Now().Add(d), ch: ch})
	return ch
}

func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return fakeTimer{f, f.add(&waiter{at: f.Now().Add(d), fn: fn})}
}

func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	return fakeTicker{f, f.add(&waiter{at: f.Now().Add(d), period: d, ch: make(chan time.Time, 1)})}
}

// Waiters is how many timers and tickers are pending; tests wait on it to
// know that a goroutine has reached its next wait before advancing.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.waiters {
		if !w.dead {
			n++
		}
	}
	return n
}

// Advance moves the clock forward by d, firing every timer and tick that
// falls due, in time order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	f.mu.Unlock()
	for {
		f.mu.Lock()
		var next *waiter
		for _, w := range f.waiters {
			if !w.dead && !w.at.After(end) && (next == nil || w.at.Before(next.at)) {
				next = w
			}
		}
		if next == nil {
			f.now = end
			f.compact()
			f.mu.Unlock()
			return
		}
		f.now = next.at
		at := next.at
		if next.period > 0 {
			next.at = next.at.Add(next.period)
		} else {
			next.dead = true
		}
		f.mu.Unlock()
		if next.fn != nil {
			go next.fn()
		} else {
			select {
			case next.ch <- at:
			default: // a slow reader misses a tick, as with time.Ticker
			}
		}
	}
}

func (f *Fake) compact() {
	live := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.dead {
			live = append(live, w)
		}
	}
	f.waiters = live
}

func (f *Fake) stop(w *waiter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	was := !w.dead
	w.dead = true
	return was
}

type fakeTimer struct {
	f *Fake
	w *waiter
}

func (t fakeTimer) Stop() bool { return t.f.stop(t.w) }

type fakeTicker struct {
	f *Fake
	w *waiter
}

func (t fakeTicker) C() <-chan time.Time { return t.w.ch }
func (t fakeTicker) Stop()               { t.f.stop(t.w) }

// Short writes a duration without trailing zero units, as a person writes
// it in a scenario: 10m, not 10m0s; 1h, not 1h0m0s.
func Short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
