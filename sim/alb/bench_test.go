package alb

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// rawBackend answers every HTTP/1.1 request with a fixed 200, allocating
// nothing per request, so that the benchmark counts the proxy's allocations
// and not a backend's.
func rawBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(bytes.TrimSpace(line)) == 0 { // end of the request's headers
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxy measures one request through a node to a backend over
// loopback TCP, the hot path: route-set load, pick, proxy, copy, metrics.
// The allocations reported are the node's (the request recorder's included).
func BenchmarkProxy(b *testing.B) {
	h := newHarness(b, nil)
	if err := h.lb.Register("i-bench", "us-east-1a", mustAddrPort(rawBackend(b))); err != nil {
		b.Fatal(err)
	}
	h.waitState("i-bench", StateHealthy)
	n := h.lb.Nodes()[0]
	req := httptest.NewRequest("GET", "http://lb/api/todos", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		n.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkPick measures each policy's choice over six routes; none may
// allocate.
func BenchmarkPick(b *testing.B) {
	slow := routesOf("a", "b", "c", "d", "e", "f")
	slow[2].slowStart = time.Now()
	tests := []struct {
		name   string
		picker Picker
		routes []Route
	}{
		{"round_robin", &RoundRobin{}, routesOf("a", "b", "c", "d", "e", "f")},
		{"round_robin_slow_start", NewRoundRobin(time.Hour, clock.Real(), newSource(1, 0)), slow},
		{"least_outstanding_requests", &LeastOutstanding{}, routesOf("a", "b", "c", "d", "e", "f")},
		{"weighted_random", NewWeightedRandom(newSource(1, 0)), routesOf("a", "b", "c", "d", "e", "f")},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for i := range tt.routes {
				tt.routes[i].inflight.Store(int64(i % 3))
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if tt.picker.Pick(tt.routes) < 0 {
						b.Fatal("no pick")
					}
				}
			})
		})
	}
}

// BenchmarkProxyAccessLog is BenchmarkProxy with the access log on, as in
// a lab run (written to io.Discard).
func BenchmarkProxyAccessLog(b *testing.B) {
	h := newHarness(b, func(c *Config) { c.AccessLog = io.Discard })
	if err := h.lb.Register("i-bench", "us-east-1a", mustAddrPort(rawBackend(b))); err != nil {
		b.Fatal(err)
	}
	h.waitState("i-bench", StateHealthy)
	n := h.lb.Nodes()[0]
	req := httptest.NewRequest("GET", "http://lb/api/todos", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		n.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkClientStream is what the client connection adds per request
// once handed to net/http (clientconn.go; the front classifies its own):
// following a typical request header line by line,
// classifying it for desync mitigation and queueing its verdict, then the
// handler taking it.
func BenchmarkClientStream(b *testing.B) {
	raw := []byte("GET /api/todos?limit=20 HTTP/1.1\r\nHost: simplydone-1234567890.us-east-1.elb.localhost:8080\r\n" +
		"User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
	c := &clientConn{}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		c.out = c.out[:0]
		c.scan(raw)
		c.take()
		c.done()
	}
}

// BenchmarkFront is one keep-alive request through a node's own HTTP/1.1
// front over loopback TCP (h1serve.go), with the access log on as in a lab
// run: the client's request read and parsed, routed, forwarded, the
// target's answer read and written back. The allocations reported are the
// node's and this client's (which allocates nothing per request).
func BenchmarkFront(b *testing.B) {
	h := newHarness(b, func(c *Config) { c.AccessLog = io.Discard })
	if err := h.lb.Register("i-bench", "us-east-1a", mustAddrPort(rawBackend(b))); err != nil {
		b.Fatal(err)
	}
	h.waitState("i-bench", StateHealthy)
	n := h.lb.Nodes()[0]
	req := []byte("GET /api/todos?limit=20 HTTP/1.1\r\nHost: lb.example\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", n.addr.String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReaderSize(c, 4<<10)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			clen := -1
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Error(err)
					return
				}
				if len(line) == 2 {
					break
				}
				if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
					clen = 0
					for _, d := range bytes.TrimSpace(v) {
						clen = clen*10 + int(d-'0')
					}
				}
			}
			if clen < 0 {
				b.Error("no Content-Length")
				return
			}
			if _, err := br.Discard(clen); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccessLogFormat is one access-log line formatted by the log's
// writer (accesslog.go), as a proxied request makes it.
func BenchmarkAccessLogFormat(b *testing.B) {
	a := newAccessLog(io.Discard, "app/lab/50dc6c495c0c9188", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lab/73e2d6bc24d8a067", nil, 80)
	now := time.Now()
	e := accessEntry{end: now, created: now.Add(-time.Millisecond), client: "127.0.0.1:5555", target: "10.0.1.2:8080",
		reqProc: 0.0001, targetProc: 0.002, respProc: 0.00001, elbStatus: 200, targetStatus: 200, received: 120, sent: 300,
		method: "GET", host: "lb.example", uri: "/api/todos?limit=20", proto: "HTTP/1.1", userAgent: "bench/1.0", connID: 1234}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = a.format(buf[:0], &e)
	}
}
