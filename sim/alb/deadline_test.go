package alb

import (
	"net"
	"testing"
	"time"
)

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	rd, wd []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.rd = append(c.rd, t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.wd = append(c.wd, t); return nil }
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.rd, c.wd = append(c.rd, t), append(c.wd, t)
	return nil
}

// An inactivity deadline is never before d from the last activity, never
// more than slack(d) past it (d/32, at most 50 ms), and set again only when
// it would fall out of that window; an exact deadline set through it
// meanwhile (setRead, set) is not mistaken for one in force.
func TestLazyDeadline(t *testing.T) {
	if got := slack(4000 * time.Second); got != 50*time.Millisecond {
		t.Errorf("slack of AWS's largest idle timeout: %v, want 50ms at most", got)
	}
	if got := slack(320 * time.Millisecond); got != 10*time.Millisecond {
		t.Errorf("slack of 320ms: %v, want a 32nd, 10ms", got)
	}
	const d = 32 * time.Second
	c := &deadlineConn{}
	var l lazyDeadline
	t0 := time.Unix(1000, 0)
	l.idleRead(c, t0, d)
	if len(c.rd) != 1 || c.rd[0] != t0.Add(d+slack(d)) {
		t.Fatalf("first deadline %v, want %v", c.rd, t0.Add(d+slack(d)))
	}
	for _, dt := range []time.Duration{0, time.Millisecond, slack(d) / 2, slack(d)} {
		l.idleRead(c, t0.Add(dt), d)
	}
	if len(c.rd) != 1 {
		t.Fatalf("deadlines within the slack were set again: %v", c.rd)
	}
	t1 := t0.Add(slack(d) + time.Nanosecond)
	l.idleRead(c, t1, d) // the one in force would now be before d from t1
	if len(c.rd) != 2 || c.rd[1].Before(t1.Add(d)) || c.rd[1].After(t1.Add(d+slack(d))) {
		t.Fatalf("deadline after the slack: %v, want within [%v, %v]", c.rd, t1.Add(d), t1.Add(d+slack(d)))
	}
	l.setRead(c, aLongTimeAgo)
	l.idleRead(c, t1, d)
	if len(c.rd) != 4 || c.rd[3] != t1.Add(d+slack(d)) {
		t.Fatalf("after an exact deadline: %v", c.rd)
	}
	// a deadline in force far later than d from now (set exactly) is brought back
	l.setRead(c, t1.Add(10*d))
	l.idleRead(c, t1, d)
	if len(c.rd) != 6 || c.rd[5] != t1.Add(d+slack(d)) {
		t.Fatalf("after a later exact deadline: %v", c.rd)
	}
	// both at once, and each side on its own
	l.idle(c, t1, d)
	if len(c.wd) != 1 || len(c.rd) != 6 {
		t.Fatalf("idle set read %d, write %d deadlines; want the write one only", len(c.rd)-6, len(c.wd))
	}
	l.set(c, time.Time{})
	l.idle(c, t1, d)
	if len(c.rd) != 8 || len(c.wd) != 3 {
		t.Fatalf("after clearing both: read %v write %v", c.rd, c.wd)
	}
}

// The front's cut: a target connection held while the client goes away
// is cut at once; one held after the client has gone is cut as it is
// taken; release says so, and a connection released unharmed is not cut.
func TestCutSlot(t *testing.T) {
	var s cutSlot
	a := &deadlineConn{}
	s.hold(a)
	if !s.release() || len(a.rd) != 0 {
		t.Fatalf("a connection released before the client went: release false or cut (%v)", a.rd)
	}
	s.hold(a)
	s.clientGone()
	if len(a.rd) != 1 || a.rd[0] != aLongTimeAgo {
		t.Fatalf("held while the client went: not cut (%v)", a.rd)
	}
	if s.release() {
		t.Fatal("release of a cut connection says it is whole")
	}
	b := &deadlineConn{}
	s.hold(b)
	if len(b.rd) != 1 || b.rd[0] != aLongTimeAgo || s.release() {
		t.Fatalf("held after the client went: not cut (%v)", b.rd)
	}
}
