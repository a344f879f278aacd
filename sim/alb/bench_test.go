package alb

import (
	"bufio"
	"bytes"
	"net"
	"net/http/httptest"
	"testing"
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
