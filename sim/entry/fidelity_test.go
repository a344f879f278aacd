package entry

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestFidelity checks, one row per documented behaviour of how clients
// reach a load balancer, that the lab's clients do it. Each row cites the
// section of ../shared/reference/aws-behaviour.md, or the client's own
// documentation, it follows.
func TestFidelity(t *testing.T) {
	rows := []struct {
		behaviour string
		cite      string
		check     func(t *testing.T)
	}{
		{"The client chooses which of the load balancer's IPs to use; the default client goes on to the next when one refuses",
			"1.8 (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/how-elastic-load-balancing-works.html); " +
				"Go's net.Dialer: \"Dial will try each IP address in order until one succeeds\" (https://pkg.go.dev/net#Dial)",
			func(t *testing.T) {
				port := nodes(t, []netip.Addr{liveA})
				server := stubDNS(t, func() []netip.Addr { return []netip.Addr{dead, liveA} })
				d := &Dialer{Resolver: NewResolver(server, nil), Name: dialName}
				for range 4 {
					if _, err := get(t, d, port); err != nil {
						t.Fatalf("a refused address among two: %v", err)
					}
				}
			}},
		{"Clients may keep a removed node's IP until the DNS TTL (60 s) ends: a client that does not retry fails meanwhile",
			"1.3 \"Clients can keep a removed zone IP until the DNS TTL of 60 s expires\" " +
				"(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-health)",
			func(t *testing.T) {
				port := nodes(t, []netip.Addr{liveA})
				// the stub server and the resolver read these on their own goroutines
				var mu sync.Mutex
				answer := []netip.Addr{dead, liveA}
				now := time.Unix(1000, 0)
				server := stubDNS(t, func() []netip.Addr { mu.Lock(); defer mu.Unlock(); return answer })
				d := &Dialer{Resolver: NewResolver(server, func() time.Time { mu.Lock(); defer mu.Unlock(); return now }), Name: dialName, Client: OneAddress}
				if _, err := get(t, d, port); !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("one-address on the dead address: %v, want refused", err)
				}
				mu.Lock()
				answer = []netip.Addr{liveA}
				now = now.Add(59 * time.Second)
				mu.Unlock()
				if _, err := get(t, d, port); err != nil {
					t.Fatalf("second dial goes to the live one in turn: %v", err)
				}
				if _, err := get(t, d, port); !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("within the TTL: %v, want the cached dead address refused", err)
				}
				mu.Lock()
				now = now.Add(time.Second)
				mu.Unlock()
				if _, err := get(t, d, port); err != nil {
					t.Fatalf("after the TTL: %v", err)
				}
			}},
	}
	for _, row := range rows {
		t.Run(row.behaviour, func(t *testing.T) {
			t.Logf("cites %s", row.cite)
			row.check(t)
		})
	}
}
