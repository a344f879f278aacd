package load

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCustomDialerResolvesTheLoadBalancerName sends a run to an ELB-shaped
// name under .localhost: every connection goes through Config.DialContext,
// which stands in for the lab's entry and dials the node.
func TestCustomDialerResolvesTheLoadBalancerName(t *testing.T) {
	node := simplyDone(t, 1)[0]
	u, _ := url.Parse(node.URL)
	const name = "simplydone-1234567890.us-east-1.elb.localhost"
	var dials atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != name {
			t.Errorf("dialled %q, want the load balancer's name", addr)
		}
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, u.Host)
	}
	res, err := Run(context.Background(), Config{
		Targets:     []string{"http://" + name + ":" + u.Port()},
		Phases:      []Phase{{Name: "hold", Duration: time.Second, From: 50, To: 50}},
		Seed:        3,
		DialContext: dial,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Requests == 0 || res.OK2xx != res.Requests || dials.Load() == 0 {
		t.Fatalf("%d requests, %d 2xx, %d dials through the custom dialer", res.Requests, res.OK2xx, dials.Load())
	}

	// Without the dialer, a name is not a loopback target.
	_, err = Run(context.Background(), Config{
		Targets: []string{"http://" + name + ":" + u.Port()},
		Phases:  []Phase{{Name: "hold", Duration: time.Second, From: 1, To: 1}},
	})
	if err == nil || !strings.Contains(err.Error(), "only loopback addresses are allowed") {
		t.Fatalf("a .localhost name without a dialer: %v", err)
	}
}
