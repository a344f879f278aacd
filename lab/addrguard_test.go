package lab

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Another program (another lab's instance, in a state directory of its own
// with another listener port) holds 127.0.1.10 on the target port: the lab
// hands its zone-a instance the next address instead, as EC2 never hands
// out an address in use, and the foreign listener gets no traffic at all
// (no health check, no request).
func TestInstanceAddressesSkipAListenerOfAnotherProgram(t *testing.T) {
	const port = 18577
	busy := netip.MustParseAddrPort("127.0.1.10:18577")
	ln, err := net.Listen("tcp", busy.String())
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	foreign := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go foreign.Serve(ln)
	defer foreign.Close()

	base := t.TempDir()
	l, err := Start(context.Background(), Options{Stack: testStack(t, port), RunsDir: filepath.Join(base, "runs"),
		StateDir: filepath.Join(base, "state"), Driver: DriverProcess, Speed: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.waitReady(context.Background(), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	inA := false
	for _, in := range l.Instances() {
		if in.Addr == busy {
			t.Errorf("instance %s was given %s, where another program listens", in.ID, busy)
		}
		inA = inA || in.Addr == netip.MustParseAddrPort("127.0.1.11:18577")
	}
	if !inA {
		t.Errorf("no instance at 127.0.1.11 (the next free address in zone a): %+v", l.Instances())
	}
	for range 20 {
		resp, err := http.Get(l.URL() + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign listener at %s got %d request(s) of the lab's", busy, n)
	}
}
