package alb

import (
	"net"
	"sync"
	"time"
)

// lazyDeadline sets a connection's inactivity deadlines (the idle timeout)
// without a change to the runtime's timers on every request: a deadline
// d from now is set slack(d) later than that (d/32, at most 50 ms), and
// left as it is while it still falls within that slack of d from now. A
// connection quiet for d is then cut between d and d + slack(d) after its
// last activity, never before d. Setting a deadline costs about as much
// as the rest of a request's bookkeeping; most requests now set none.
// Every deadline set on the connection goes through it (Set), so that it
// knows the one in force.
type lazyDeadline struct {
	mu     sync.Mutex
	rd, wd time.Time // the deadlines in force
}

// deadlineSlack divides an inactivity timeout into the slack its deadline
// may run over, at most maxSlack of wall time: a 4000 s idle timeout
// (AWS's largest) must not fire two minutes late, and a busy connection
// still moves its deadline once per maxSlack at most.
const (
	deadlineSlack = 32
	maxSlack      = 50 * time.Millisecond
)

// slack is how far past d from now an inactivity deadline may be set.
func slack(d time.Duration) time.Duration { return min(d/deadlineSlack, maxSlack) }

// within says whether the deadline in force, cur, serves want: not
// before it, and not past its slack.
func within(cur, want time.Time, d time.Duration) bool {
	return !cur.Before(want) && cur.Sub(want) <= slack(d)
}

// idleRead makes c's read deadline d from now (slack(d) later at most).
func (l *lazyDeadline) idleRead(c net.Conn, now time.Time, d time.Duration) {
	want := now.Add(d)
	l.mu.Lock()
	if !within(l.rd, want, d) {
		l.rd = want.Add(slack(d))
		c.SetReadDeadline(l.rd)
	}
	l.mu.Unlock()
}

// idleWrite makes c's write deadline d from now (slack(d) later at most).
func (l *lazyDeadline) idleWrite(c net.Conn, now time.Time, d time.Duration) {
	want := now.Add(d)
	l.mu.Lock()
	if !within(l.wd, want, d) {
		l.wd = want.Add(slack(d))
		c.SetWriteDeadline(l.wd)
	}
	l.mu.Unlock()
}

// idle makes both of c's deadlines d from now (slack(d) later at most).
func (l *lazyDeadline) idle(c net.Conn, now time.Time, d time.Duration) {
	want := now.Add(d)
	l.mu.Lock()
	r, w := !within(l.rd, want, d), !within(l.wd, want, d)
	switch {
	case r && w:
		l.rd, l.wd = want.Add(slack(d)), want.Add(slack(d))
		c.SetDeadline(l.rd)
	case r:
		l.rd = want.Add(slack(d))
		c.SetReadDeadline(l.rd)
	case w:
		l.wd = want.Add(slack(d))
		c.SetWriteDeadline(l.wd)
	}
	l.mu.Unlock()
}

// setRead sets c's read deadline to t exactly.
func (l *lazyDeadline) setRead(c net.Conn, t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rd = t
	return c.SetReadDeadline(t)
}

// setWrite sets c's write deadline to t exactly.
func (l *lazyDeadline) setWrite(c net.Conn, t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wd = t
	return c.SetWriteDeadline(t)
}

// set sets both of c's deadlines to t exactly.
func (l *lazyDeadline) set(c net.Conn, t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rd, l.wd = t, t
	return c.SetDeadline(t)
}
