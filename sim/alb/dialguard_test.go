package alb

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/simplydone/lab/sim/az"
)

// refuseGuard refuses every dial to one target.
type refuseGuard struct {
	id    az.InstanceID
	asked atomic.Int64
}

func (g *refuseGuard) AllowDial(_ context.Context, id az.InstanceID, _ netip.AddrPort) error {
	g.asked.Add(1)
	if id == g.id {
		return errors.New("foreign listener")
	}
	return nil
}

// Fail-open routes to every target when none is healthy; a target the dial
// guard refuses still gets no request: the node answers 502 instead.
func TestDialGuardRefusesEvenWhenFailingOpen(t *testing.T) {
	g := &refuseGuard{id: "i-foreign"}
	h := newHarness(t, func(c *Config) { c.DialGuard = g })
	var foreignHits, ownHits atomic.Int64
	foreign := backend(t, "foreign", func(_ http.ResponseWriter, _ *http.Request) { foreignHits.Add(1) })
	own := backend(t, "own", func(_ http.ResponseWriter, _ *http.Request) { ownHits.Add(1) })
	h.prober.set(foreign, mismatch)
	h.prober.set(own, mismatch)
	h.register("i-foreign", "us-east-1a", foreign)
	h.register("i-own", "us-east-1b", own)
	h.check(2)
	h.waitState("i-foreign", StateUnhealthy)
	h.waitState("i-own", StateUnhealthy)
	url := h.lb.Nodes()[0].URL()
	codes := map[int]int{}
	for i := 0; i < 8; i++ {
		resp, _ := get(t, url+"/")
		codes[resp.StatusCode]++
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the refused target got %d request(s) while failing open; want 0", n)
	}
	if ownHits.Load() == 0 || codes[200] == 0 {
		t.Errorf("the allowed target got no request while failing open (codes %v)", codes)
	}
	if codes[502] == 0 {
		t.Errorf("no request routed to the refused target got the ALB's 502 (codes %v)", codes)
	}
	if codes[200]+codes[502] != 8 {
		t.Errorf("codes %v, want only 200 and 502", codes)
	}
	if g.asked.Load() == 0 {
		t.Error("the guard was never asked")
	}
	if m := h.lb.Nodes()[0].Metrics(); m.UnhealthyRoutingRequestCount != 8 {
		t.Errorf("UnhealthyRoutingRequestCount %d, want 8", m.UnhealthyRoutingRequestCount)
	}
}
