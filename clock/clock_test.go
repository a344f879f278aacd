package clock

import (
	"testing"
	"time"
)

func TestScaledConvertsAWSDurationsToWall(t *testing.T) {
	c, err := NewScaled(10)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Wall(30 * time.Second); got != 3*time.Second {
		t.Fatalf("Wall(30s) at speed 10 = %v, want 3s", got)
	}
	if _, err := NewScaled(0.5); err == nil {
		t.Fatal("speed 0.5 accepted")
	}
}

func TestScaledNowRunsFaster(t *testing.T) {
	c, _ := NewScaled(100)
	a := c.Now()
	<-c.After(time.Second) // 10 ms of wall time
	if d := c.Now().Sub(a); d < time.Second {
		t.Fatalf("after 1 AWS second only %v passed", d)
	}
}

func TestFakeFiresInOrder(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tk := f.NewTicker(10 * time.Second)
	late := f.After(25 * time.Second)
	fired := make(chan struct{})
	tm := f.AfterFunc(5*time.Second, func() { close(fired) })
	stopped := f.AfterFunc(7*time.Second, func() { t.Error("stopped timer fired") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	f.Advance(10 * time.Second)
	<-fired
	if tm.Stop() {
		t.Fatal("Stop after firing returned true")
	}
	if got := <-tk.C(); got != time.Unix(10, 0) {
		t.Fatalf("tick at %v", got)
	}
	select {
	case <-late:
		t.Fatal("25 s timer fired at 10 s")
	default:
	}
	f.Advance(15 * time.Second)
	if got := <-late; got != time.Unix(25, 0) {
		t.Fatalf("late timer at %v", got)
	}
	if got := <-tk.C(); got != time.Unix(20, 0) {
		t.Fatalf("second tick at %v", got)
	}
	tk.Stop()
	if n := f.Waiters(); n != 0 {
		t.Fatalf("%d waiters left", n)
	}
}

// At is the AWS time at a given wall time, as Now is at the current one.
func TestScaledAtConvertsAWallTime(t *testing.T) {
	c, err := NewScaled(10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.At(c.start.Add(3*time.Second)), c.start.Add(30*time.Second); !got.Equal(want) {
		t.Fatalf("3 wall s after the start: %v, want %v", got, want)
	}
	before := c.Now()
	at := c.At(time.Now())
	if after := c.Now(); at.Before(before) || at.After(after) {
		t.Fatalf("At(time.Now()) %v is not between Now's %v and %v", at, before, after)
	}
}
