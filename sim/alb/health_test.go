package alb

import "testing"

var (
	pass     = Result{OK: true}
	timeout  = Result{Reason: ReasonTimeout, Detail: "Request timed out"}
	mismatch = Result{Reason: ReasonResponseCodeMismatch, Detail: "Health checks failed with these codes: [503]"}
	refused  = Result{Reason: ReasonFailedHealthChecks}
	defaults = Thresholds{Healthy: 5, Unhealthy: 2}
)

func TestHealthTransitions(t *testing.T) {
	tests := []struct {
		name   string
		checks []Result
		want   State
		reason Reason
	}{
		{"new target waits in initial", nil, StateInitial, ReasonRegistrationInProgress},
		{"initial goes healthy on the first pass", []Result{pass}, StateHealthy, ReasonNone},
		{"initial stays initial after one failure", []Result{timeout}, StateInitial, ReasonInitialHealthChecking},
		{"initial goes unhealthy after unhealthy-threshold failures", []Result{timeout, timeout}, StateUnhealthy, ReasonTimeout},
		{"healthy survives one failure", []Result{pass, mismatch}, StateHealthy, ReasonNone},
		{"healthy goes unhealthy after two failures", []Result{pass, mismatch, mismatch}, StateUnhealthy, ReasonResponseCodeMismatch},
		{"a pass resets the failure count", []Result{pass, refused, pass, refused}, StateHealthy, ReasonNone},
		{"refused connections are FailedHealthChecks", []Result{pass, refused, refused}, StateUnhealthy, ReasonFailedHealthChecks},
		{"unhealthy keeps the latest reason", []Result{pass, refused, refused, timeout}, StateUnhealthy, ReasonTimeout},
		{"unhealthy needs five passes: four are not enough", []Result{pass, refused, refused, pass, pass, pass, pass}, StateUnhealthy, ReasonFailedHealthChecks},
		{"unhealthy returns after five passes", []Result{pass, refused, refused, pass, pass, pass, pass, pass}, StateHealthy, ReasonNone},
		{"a failure restarts the count of passes", []Result{pass, refused, refused, pass, pass, pass, pass, refused, pass, pass, pass, pass}, StateUnhealthy, ReasonFailedHealthChecks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth()
			for _, r := range tt.checks {
				h = h.Checking().Observe(r, defaults)
			}
			if h.State != tt.want || h.Reason != tt.reason {
				t.Fatalf("got %s, want %s (%s)", h, tt.want, tt.reason)
			}
		})
	}
}

func TestDrainingAndUnusedIgnoreChecks(t *testing.T) {
	h := NewHealth().Observe(pass, defaults).Drain()
	if h.State != StateDraining || h.Reason != ReasonDeregistration {
		t.Fatalf("drain: got %s", h)
	}
	for _, r := range []Result{pass, timeout, timeout, timeout} {
		h = h.Observe(r, defaults)
	}
	if h.State != StateDraining {
		t.Fatalf("checks moved a draining target to %s", h)
	}
	u := Unused().Observe(pass, defaults)
	if u.State != StateUnused || u.Reason != ReasonNotRegistered {
		t.Fatalf("unused: got %s", u)
	}
}

func TestThresholdsAreConfigurable(t *testing.T) {
	th := Thresholds{Healthy: 2, Unhealthy: 3}
	h := NewHealth().Observe(pass, th)
	for i := 0; i < 2; i++ {
		h = h.Observe(timeout, th)
	}
	if h.State != StateHealthy {
		t.Fatalf("unhealthy after 2 of 3 failures: %s", h)
	}
	h = h.Observe(timeout, th).Observe(pass, th)
	if h.State != StateUnhealthy {
		t.Fatalf("one pass brought it back: %s", h)
	}
	if h = h.Observe(pass, th); h.State != StateHealthy {
		t.Fatalf("two passes did not bring it back: %s", h)
	}
}

func TestRoundRobinCyclesInOrder(t *testing.T) {
	routes := routesOf("a", "b", "c")
	var rr RoundRobin
	var got []string
	for i := 0; i < 6; i++ {
		got = append(got, string(routes[rr.Pick(routes)].Target.ID))
	}
	if want := "abcabc"; join(got) != want {
		t.Fatalf("got %s, want %s", join(got), want)
	}
	if rr.Pick(nil) != -1 {
		t.Fatal("picked from an empty set")
	}
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += x
	}
	return out
}
