package agent

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// silencer forwards TCP to an agent until silenced: from then on it drops
// what either side sends and holds new connections without answering, as
// a host whose power is gone (no reset, no answer).
type silencer struct {
	ln     net.Listener
	to     string
	silent atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newSilencer(t *testing.T, to string) *silencer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silencer{ln: ln, to: to}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *silencer) hold(c net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *silencer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.hold(c)
		if s.silent.Load() {
			continue // held open, never answered
		}
		up, err := net.Dial("tcp", s.to)
		if err != nil {
			c.Close()
			continue
		}
		s.hold(up)
		s.wg.Add(2)
		go s.pipe(c, up)
		go s.pipe(up, c)
	}
}

// pipe copies from a to b until silenced; then it reads and drops.
func (s *silencer) pipe(a, b net.Conn) {
	defer s.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := a.Read(buf)
		if n > 0 && !s.silent.Load() {
			if _, werr := b.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestCloseWithinBoundsTheEndOnAGoneHost: closing the run on an agent
// whose host went silent waits for it at most the bound given (the lab
// gives a lost zone's agent 2 s), not Close's two minutes; the agent,
// reached again, still has the run open (it ends it itself when the lease
// lapses, or here when the agent closes).
func TestCloseWithinBoundsTheEndOnAGoneHost(t *testing.T) {
	tok := token(t)
	_, addr := serve(t, Config{Token: tok, Subnet: mustPrefix("127.0.1.0/24"), NewRuntime: processFactory, Logger: quiet})
	sil := newSilencer(t, addr)
	r, err := DialRun(context.Background(), sil.ln.Addr().String(), tok, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	sil.silent.Store(true)
	start := time.Now()
	err = r.CloseWithin(300 * time.Millisecond)
	took := time.Since(start)
	if err == nil {
		t.Error("CloseWithin on a silent host: no error")
	}
	if took > 5*time.Second {
		t.Errorf("CloseWithin(300ms) on a silent host took %s", took)
	}
	if err := r.Close(); err == nil || err.Error() != r.closeErr.Error() {
		t.Errorf("Close after CloseWithin: %v, want the same error once more (closed once)", err)
	}
	c, err := Dial(context.Background(), addr, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Info().Run != r.RunID() {
		t.Errorf("the agent's open run: %q, want %s still open (the silent host never heard the close)", c.Info().Run, r.RunID())
	}
}
