package alb

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxy measures one request through a node to a real backend over
// loopback TCP, the hot path: route-set load, pick, proxy, copy, metrics.
func BenchmarkProxy(b *testing.B) {
	h := newHarness(b, nil)
	defer h.lb.Close()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	}))
	defer s.Close()
	addr := mustAddrPort(s.Listener.Addr().String())
	if err := h.lb.Register("i-bench", "us-east-1a", addr); err != nil {
		b.Fatal(err)
	}
	n := h.lb.Nodes()[0]
	for n.routes.Load().targets == nil {
	}
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
