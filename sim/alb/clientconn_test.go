package alb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// The node's client connections are capped (a lab limit,
// DefaultMaxClientConns; AWS documents none per node): one over the cap is
// reset at once and counted in RejectedConnectionCount, and a slot freed
// takes a new connection again.
func TestClientConnectionCap(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxClientConns = 3 })
	a, _ := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	node := h.lb.Nodes()[0]
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", node.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp, err := rawGet(t, c, bufio.NewReader(c), "/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", i, resp, err)
		}
		held = append(held, c)
	}
	if over, err := net.Dial("tcp", node.addr.String()); err == nil { // or the reset comes before the dial returns
		defer over.Close()
		over.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(over, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
		if _, err := over.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("a connection over the cap: read %v; want it reset", err)
		}
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("a connection over the cap: %v; want it reset", err)
	}
	if got := node.Metrics().RejectedConnectionCount; got != 1 {
		t.Fatalf("RejectedConnectionCount %d, want 1", got)
	}
	held[0].Close()
	waitFor(t, "a slot frees", func() bool {
		c, err := net.Dial("tcp", node.addr.String())
		if err != nil {
			return false
		}
		defer c.Close()
		resp, err := rawGet(t, c, bufio.NewReader(c), "/")
		return err == nil && resp.StatusCode == 200
	})
}

// ALB's idle timeout: a client that sends its header and then nothing of
// its body for the idle timeout gets 408 ("the client did not send data
// before the idle timeout period expired") and its connection closed,
// instead of holding a node goroutine and a target connection for ever.
func TestStalledBodyIsCutAtTheIdleTimeout(t *testing.T) {
	h := newHarness(t, scaled(nil))
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	node := h.lb.Nodes()[0]
	c, err := net.Dial("tcp", node.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: lb\r\nContent-Length: 1000\r\n\r\n0123456789")
	idle := time.Duration(60 * float64(time.Second) / protoSpeed)
	start := time.Now()
	c.SetReadDeadline(start.Add(20 * idle))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", 20*idle, err)
	}
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout || took < idle*8/10 {
		t.Fatalf("%d after %s; want 408 after the idle timeout (%s wall)", resp.StatusCode, took, idle)
	}
	io.Copy(io.Discard, resp.Body)
	closedWithin(t, c, br, 5*idle)
	if got := node.Metrics().HTTPCode_ELB_4XX_Count; got != 1 {
		t.Fatalf("HTTPCode_ELB_4XX_Count %d, want 1", got)
	}
}

// ALB's idle timeout also covers a client that stops reading: a write to it
// that makes no progress for the idle timeout ends the exchange, so the
// node's goroutine and its target connection are let go (without the
// per-write deadline both waited for ever).
func TestClientThatStopsReadingIsCutAtTheIdleTimeout(t *testing.T) {
	h := newHarness(t, scaled(nil))
	done := make(chan error, 1)
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: lb\r\n\r\n")
	c.Read(make([]byte, 1024)) // the start of the answer, then nothing more is read
	idle := time.Duration(60 * float64(time.Second) / protoSpeed)
	select {
	case <-done: // the node gave up on the client and closed the target's connection
	case <-time.After(60 * idle):
		t.Fatalf("the exchange with a client that stopped reading still runs after %s (idle timeout %s wall)", 60*idle, idle)
	}
}
