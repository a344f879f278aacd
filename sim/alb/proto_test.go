package alb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// The protocol behaviour of a node, over real TCP on loopback. AWS's
// durations run through a clock at 100x, so 60 AWS seconds last 0.6 s.

const protoSpeed = 100

// scaled runs the harness's load balancer on a clock at protoSpeed (health
// checks still come from the fake prober).
func scaled(extra func(*Config)) func(*Config) {
	return func(c *Config) {
		clk, _ := clock.NewScaled(protoSpeed)
		c.Clock = clk
		c.IdleTimeout = 60 * time.Second
		if extra != nil {
			extra(c)
		}
	}
}

// countingBackend is a real HTTP target that counts the requests it saw.
func countingBackend(t *testing.T) (netip.AddrPort, *atomic.Int64) {
	var n atomic.Int64
	return backend(t, "a", func(w http.ResponseWriter, r *http.Request) { n.Add(1) }), &n
}

// rawGet sends one HTTP/1.1 request on c and reads the response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) (*http.Response, error) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: lb\r\n\r\n", path); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// closedWithin waits for the server to close c, failing after limit.
func closedWithin(t *testing.T, c net.Conn, br *bufio.Reader, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", limit)
	}
	if err == nil {
		t.Fatal("the node sent bytes nobody asked for")
	}
	return time.Since(start)
}

// AWS: idle_timeout.timeout_seconds (default 60 s) closes a client
// connection on which nothing was sent for that long.
func TestIdleTimeoutClosesQuietClientConnection(t *testing.T) {
	h := newHarness(t, scaled(nil))
	a, _ := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, err := rawGet(t, c, br, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	idle := time.Duration(60 * float64(time.Second) / protoSpeed)
	if took := closedWithin(t, c, br, 10*idle); took < idle*8/10 {
		t.Fatalf("closed after %s, before the idle timeout (%s wall)", took, idle)
	}
}

// AWS: a connection to a target must succeed within 10 s, or 504. The
// target's accept queue is full, so the kernel drops the SYN.
func TestConnectTimeoutIs504(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; i < 4; i++ { // fill the accept queue; later SYNs are dropped
		if c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond); err == nil {
			defer c.Close()
		}
	}
	h := newHarness(t, scaled(func(c *Config) { c.ConnectTimeout = 10 * time.Second }))
	h.register("i-full", "us-east-1a", addr)
	h.waitState("i-full", StateHealthy)
	start := time.Now()
	resp, body := get(t, h.lb.Nodes()[0].URL()+"/")
	if resp.StatusCode != 504 || !strings.Contains(body, "504 Gateway Time-out") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Fatalf("504 after %s, before the 10 AWS s (100 ms) connect timeout", took)
	}
}

// keepAliveTarget answers the first request on every connection with a
// keep-alive 200; on the second request of a connection it reads the
// request and closes the connection without answering, as a target whose
// keep-alive timeout ran out just then does.
func keepAliveTarget(t *testing.T) (netip.AddrPort, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var seen atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					seen.Add(1)
					if i == 1 {
						return // FIN with a request outstanding
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), &seen
}

// AWS (troubleshooting, 502): "The target closed the connection with a TCP
// RST or a TCP FIN while the load balancer had an outstanding request to
// the target" — the classic target keep-alive shorter than the idle
// timeout. The node does not retry: the client gets the 502.
func TestTargetClosingReusedConnectionMidRequestIs502(t *testing.T) {
	h := newHarness(t, nil)
	a, seen := keepAliveTarget(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	url := h.lb.Nodes()[0].URL()
	if resp, _ := get(t, url+"/1"); resp.StatusCode != 200 {
		t.Fatalf("first request %d", resp.StatusCode)
	}
	resp, body := get(t, url+"/2") // reuses the connection; the target hangs up
	if resp.StatusCode != 502 || !strings.Contains(body, "502 Bad Gateway") {
		t.Fatalf("request cut by the target got %d %q, want 502", resp.StatusCode, body)
	}
	if resp, _ := get(t, url+"/3"); resp.StatusCode != 200 {
		t.Fatalf("next request %d, want 200 on a new connection", resp.StatusCode)
	}
	if n := seen.Load(); n != 3 {
		t.Fatalf("target saw %d requests, want 3 (no retry of the cut one)", n)
	}
	if m := h.lb.Nodes()[0].Metrics(); m.HTTPCode_ELB_502_Count != 1 || m.HTTPCode_Target_2XX_Count != 2 {
		t.Fatalf("metrics %+v", m)
	}
}

// A target that closed an idle connection a while ago (its keep-alive ran
// out between requests) costs nothing: the node sees the close before it
// sends, as the ALB does, and dials again.
func TestTargetClosedIdleConnectionIsNotReused(t *testing.T) {
	h := newHarness(t, nil)
	var conns, closed atomic.Int64
	srv := &http.Server{IdleTimeout: 20 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed:
				closed.Add(1)
			}
		}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.register("i-a", "us-east-1a", netip.MustParseAddrPort(ln.Addr().String()))
	h.waitState("i-a", StateHealthy)
	url := h.lb.Nodes()[0].URL()
	for i := 0; i < 3; i++ {
		if resp, _ := get(t, url+"/"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		want := int64(i + 1)
		waitFor(t, "the target closing its idle connection", func() bool { return closed.Load() == want })
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("target saw %d connections, want 3", n)
	}
}

// AWS: client_keep_alive.seconds (default 3600 s, at least 60 s): once a
// client connection is that old, the next answer closes it.
func TestClientKeepAliveEndsOldConnections(t *testing.T) {
	h := newHarness(t, scaled(func(c *Config) {
		c.ClientKeepAlive = 60 * time.Second
		c.IdleTimeout = 4000 * time.Second
	}))
	a, _ := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	resp, err := rawGet(t, c, br, "/")
	if err != nil || resp.Close {
		t.Fatalf("young connection: %v close=%v", err, resp != nil && resp.Close)
	}
	time.Sleep(time.Duration(60 * float64(time.Second) / protoSpeed)) // the connection's 60 AWS seconds
	resp, err = rawGet(t, c, br, "/")
	if err != nil || !resp.Close || resp.StatusCode != 200 {
		t.Fatalf("old connection: %v %+v", err, resp)
	}
	closedWithin(t, c, br, 5*time.Second)
}

// HTTP/1.1 and HTTP/2 cleartext (prior knowledge) from clients; targets
// get HTTP/1.1 either way, as the ALB's default target protocol.
func TestClientsSpeakHTTP1AndH2C(t *testing.T) {
	h := newHarness(t, nil)
	protos := make(chan string, 4)
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) { protos <- r.Proto })
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	for _, tt := range []struct {
		name  string
		proto func(*http.Protocols)
		want  int
	}{
		{"HTTP/1.1", func(p *http.Protocols) { p.SetHTTP1(true) }, 1},
		{"h2c", func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, 2},
	} {
		var p http.Protocols
		tt.proto(&p)
		tr := &http.Transport{Protocols: &p}
		resp, err := (&http.Client{Transport: tr}).Get(h.lb.Nodes()[0].URL() + "/")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 || resp.ProtoMajor != tt.want || resp.Header.Get("X-Served-By") != "a" {
			t.Fatalf("%s: %d %s", tt.name, resp.StatusCode, resp.Proto)
		}
		if got := <-protos; got != "HTTP/1.1" {
			t.Fatalf("%s: target got %s, want HTTP/1.1", tt.name, got)
		}
	}
}

// AWS quotas (HTTP headers): request line 16 K, single header 16 K, whole
// request header 64 K. Over them the node answers itself and the target
// sees nothing.
func TestHeaderLimits(t *testing.T) {
	h := newHarness(t, nil)
	a, seen := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	big := strings.Repeat("x", 15<<10)
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"request line within 16 K", "/" + strings.Repeat("p", 15<<10), nil, 200},
		{"request line over 16 K: 414", "/" + strings.Repeat("p", 17<<10), nil, 414},
		{"a header within 16 K", "/", map[string]string{"X-A": big}, 200},
		{"a header over 16 K: 431", "/", map[string]string{"X-A": big + strings.Repeat("y", 2<<10)}, 431},
		{"headers within 64 K", "/", map[string]string{"X-A": big, "X-B": big, "X-C": big}, 200},
		{"headers over 64 K: 431", "/", map[string]string{"X-A": big, "X-B": big, "X-C": big, "X-D": big, "X-E": big}, 431},
	}
	for _, tt := range tests {
		before := seen.Load()
		req, _ := http.NewRequest("GET", h.lb.Nodes()[0].URL()+tt.path, nil)
		for k, v := range tt.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if reached := seen.Load() > before; reached != (tt.want == 200) {
			t.Errorf("%s: reached the target: %v", tt.name, reached)
		}
	}
}

// A client that trickles its request header, a byte now and then, is cut
// off once the idle timeout has passed since it started: it cannot hold
// the connection open by sending slowly.
func TestSlowHeaderClientIsCutOff(t *testing.T) {
	h := newHarness(t, scaled(nil))
	a, seen := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	idle := time.Duration(60 * float64(time.Second) / protoSpeed)
	start := time.Now()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: lb\r\n")
	cut := false
	for time.Since(start) < 5*idle {
		if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
			cut = true
			break
		}
		c.SetReadDeadline(time.Now().Add(idle / 10))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				cut = true
				break
			}
		}
	}
	if !cut {
		t.Fatalf("a trickling client kept its connection for %s (idle timeout %s)", time.Since(start), idle)
	}
	if took := time.Since(start); took < idle*8/10 {
		t.Fatalf("cut after %s, before the idle timeout", took)
	}
	if seen.Load() != 0 {
		t.Fatal("the incomplete request reached the target")
	}
}

// Malformed requests get a 4xx/5xx from the node itself and never reach a
// target (AWS: 400/501/505 are among the codes the ALB generates for
// client or protocol problems).
func TestMalformedRequestsNeverReachTarget(t *testing.T) {
	h := newHarness(t, nil)
	a, seen := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	tests := []struct {
		name, raw string
		want      int
	}{
		{"garbage request line", "GARBAGE\r\n\r\n", 400},
		{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"header without a colon", "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", 400},
		{"space before the colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400},
		{"control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400},
		{"conflicting Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"unknown HTTP version", "GET / HTTP/3.7\r\nHost: a\r\n\r\n", 505},
	}
	for _, tt := range tests {
		c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, tt.raw)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if resp.StatusCode != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	// A good request after them all, so the count below is not vacuous.
	if resp, _ := get(t, h.lb.Nodes()[0].URL()+"/"); resp.StatusCode != 200 {
		t.Fatalf("good request: %d", resp.StatusCode)
	}
	if n := seen.Load(); n != 1 {
		t.Fatalf("target saw %d requests, want only the good one", n)
	}
}

// When a target's deregistration delay ends, the node's connections to it
// are closed and no longer counted in ActiveConnectionCount.
func TestRemovedTargetLeavesNoConnections(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := countingBackend(t)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	if resp, _ := get(t, n.URL()+"/"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if c := n.transport.conns.Load(); c != 1 {
		t.Fatalf("%d connections to the target, want the one kept alive", c)
	}
	if _, err := h.lb.Deregister("i-a"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(300 * time.Second)
	waitFor(t, "the connection to the removed target closed", func() bool { return n.transport.conns.Load() == 0 })
}
