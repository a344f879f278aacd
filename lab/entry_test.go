package lab

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

// TestZoneNodeDownLeavesDNS wires the entry as Start does, with no
// instances: the stable URL reaches a node (an empty target group answers
// 503 from awselb), and chaos's node control (kill-lb-node, az-outage with
// lb_node: down) takes the zone's node down, so the DNS server's failure
// detector drops it, and brings it back.
func TestZoneNodeDownLeavesDNS(t *testing.T) {
	s := testStack(t, 18486)
	c, _ := clock.NewScaled(50)
	bus := events.NewBus(c)
	defer bus.Close()
	var mu sync.Mutex
	var msgs []string
	bus.Subscribe(func(e events.Envelope) {
		mu.Lock()
		msgs = append(msgs, e.Message())
		mu.Unlock()
	})
	zones, _ := az.NewZones(s.Zones)
	lb, err := alb.New(albConfig(s, zones, c, bus))
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	l := &Lab{opts: Options{Stack: s, Seed: 7, Logger: slog.New(slog.DiscardHandler)}, Clock: c, Bus: bus, Zones: zones, LB: lb}
	if err := l.startEntry(); err != nil {
		t.Fatal(err)
	}
	defer l.closeEntry()
	if !strings.HasPrefix(l.URL(), "http://127.0.0.1:") || !strings.HasSuffix(l.EntryName(), ".us-east-1.elb.localhost") {
		t.Fatalf("URL %q, name %q", l.URL(), l.EntryName())
	}
	resp, err := http.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Server") != "awselb/2.0" {
		t.Fatalf("through the stable URL: %d from %q, want the node's own 503", resp.StatusCode, resp.Header.Get("Server"))
	}

	outage := time.Now()
	restore, err := zoneNodes{l}.NodeDown("us-east-1b")
	if err != nil {
		t.Fatal(err)
	}
	if lb.NodeUp("us-east-1b") {
		t.Fatal("the node stayed up")
	}
	waitFor(t, "the DNS server drops the node", 10*time.Second, func() bool { return !slices.Contains(l.DNS().Live(), "us-east-1b") })
	took := time.Since(outage)
	t.Logf("speed 50: the DNS server dropped the node %s after the outage began (%.0f AWS s); TTL %d s", took.Round(time.Millisecond), took.Seconds()*50, l.DNS().TTL())
	restore()
	if !lb.NodeUp("us-east-1b") {
		t.Fatal("the revert left the node down")
	}
	waitFor(t, "the DNS server hands the node out again", 10*time.Second, func() bool { return len(l.DNS().Live()) == 3 })
	// The journal says so, each in order after the one before.
	inOrder := func() bool {
		mu.Lock()
		defer mu.Unlock()
		at := 0
		for _, want := range []string{"stable URL http://127.0.0.1:", "in us-east-1b is down", "in us-east-1b failed its health checks", "hands out the load balancer node in us-east-1b"} {
			i := slices.IndexFunc(msgs[at:], func(m string) bool { return strings.Contains(m, want) })
			if i < 0 {
				return false
			}
			at += i + 1
		}
		return true
	}
	waitFor(t, "the events of the outage, in order", 5*time.Second, inOrder)
}
