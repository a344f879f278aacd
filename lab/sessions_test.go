package lab

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

// Shoppers against two instances that keep carts in their own memory,
// with no sticky sessions: the round robin sends a user's requests to both,
// cart reads miss items their user was told were added, and the run FAILs
// lost_session_state; with the carts in the shared database it passes.
func TestRunCountsLostSessionState(t *testing.T) {
	for _, c := range []struct {
		cart string
		port int
		lost bool
	}{{"memory", 18541, true}, {"database", 18542, false}} {
		t.Run(c.cart, func(t *testing.T) {
			s, err := stack.Parse("carts.yaml", []byte(fmt.Sprintf(`name: carts
availability_zones: [us-east-1a, us-east-1b]
load_balancer:
  listener: {port: %d}
target_group:
  port: %d
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [%q]
  environment: {SIMPLYDONE_CART: %s}
  pending_time: 0s
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`, c.port, c.port, simplydone, c.cart)))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenarios.Parse("carts.yaml", []byte(`name: carts
stack: simplydone
speed: 20
load:
  think_time: 10s   # half a wall second at speed 20: about 60 requests/s
  mix: {list: 2, create: 2, cart: 3, add_to_cart: 3}
  phases: [{name: shoppers, duration: 2m, users: 30}]
slos: [lost_session_state == 0, lost_writes == 0]
`))
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			sum.WriteText(&text)
			ss := sum.Sessions
			if ss == nil || ss.Reads < 30 || ss.Adds < 30 {
				t.Fatalf("too few cart requests checked: %+v\n%s", ss, text.String())
			}
			t.Logf("%s carts: %s", c.cart, strings.TrimSpace(text.String()[strings.Index(text.String(), "session state"):][:80]))
			if !strings.Contains(text.String(), fmt.Sprintf("session state: %d cart reads checked, %d lost session state", ss.Reads, ss.Lost)) {
				t.Errorf("the summary does not tell the session state:\n%s", text.String())
			}
			if sum.LostWrites != 0 || sum.AcknowledgedWrites == 0 {
				t.Errorf("writes: %d acknowledged, %d lost; want some, none lost", sum.AcknowledgedWrites, sum.LostWrites)
			}
			if c.lost && (ss.Lost == 0 || sum.Verdict != Fail || !sloFailed(sum, "lost_session_state == 0")) {
				t.Errorf("memory carts without stickiness: %+v, verdict %s (%s); want lost state and FAIL on lost_session_state", ss, sum.Verdict, sum.Reason)
			}
			if !c.lost && (ss.Lost != 0 || sum.Verdict != Pass) {
				t.Errorf("database carts: %+v, verdict %s (%s); want nothing lost and PASS", ss, sum.Verdict, sum.Reason)
			}
		})
	}
}
