package agent

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az/aztest"
)

// The controller's cost of one call to an agent over loopback TLS (a kept
// connection), for the design note's cost per agent: a Stats read of a
// running instance (what the lab does per instance per metric period) and
// a lease renewal (every third of a lease per agent).
func BenchmarkStatsOverTheWire(b *testing.B) {
	r, _ := remoteB(b)
	s := spec(b, "127.0.1.90")
	if _, err := r.Launch(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	aztest.WaitServing(b, s, 30*time.Second)
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Stats(context.Background(), s.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLeaseRenewal(b *testing.B) {
	r, _ := remoteB(b)
	for b.Loop() {
		if err := r.c.do(context.Background(), http.MethodPost, r.path("/lease"), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// remoteB is remote for a benchmark.
func remoteB(b *testing.B) (*Remote, *Server) {
	b.Helper()
	tok, err := NewToken()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Token: tok, NewRuntime: processFactory, Logger: quiet, Dir: b.TempDir(), Subnet: mustPrefix("127.0.0.0/8")}
	s, err := NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := listenLoopback()
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	r, err := DialRun(context.Background(), ln.Addr().String(), tok, newRunID(), "process")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(); s.Close() })
	return r, s
}
