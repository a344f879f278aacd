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
// (clientconn.go): following a typical request header line by line,
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
