package scenarios

import (
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

func TestNewChaosActionsParse(t *testing.T) {
	const doc = "name: s\nstack: simplydone\nload:\n  phases: [{duration: 10m, rate: 1}]\nslos: [success_rate >= 99%]\nchaos:\n" +
		"  - {at: 5m, action: pause-instance, duration: 2m, zone: us-east-1a}\n" +
		"  - {at: 6m, action: http-error, duration: 1m, percent: 20, status: 500, zone: us-east-1b}\n" +
		"  - {at: 6m, action: http-error, duration: 1m}\n" +
		"  - {at: 7m, action: latency, duration: 1m, latency: 200ms, jitter: 50ms}\n" +
		"  - {at: 8m, action: az-outage, duration: 1m, zone: us-east-1c}\n"
	s, err := Parse("s.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []ChaosAction{
		{At: 5 * time.Minute, Action: chaos.PauseInstance, Zone: "us-east-1a", Duration: 2 * time.Minute, Percent: 100},
		{At: 6 * time.Minute, Action: chaos.HTTPError, Zone: "us-east-1b", Duration: time.Minute, Percent: 20, Status: 500},
		{At: 6 * time.Minute, Action: chaos.HTTPError, Duration: time.Minute, Percent: 100, Status: 503},
		{At: 7 * time.Minute, Action: chaos.Latency, Duration: time.Minute, Percent: 100, Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond},
		{At: 8 * time.Minute, Action: chaos.AZOutage, Zone: "us-east-1c", Duration: time.Minute, Percent: 100},
	}
	for i := range want {
		if s.Chaos[i] != want[i] {
			t.Errorf("chaos[%d] = %+v, want %+v", i, s.Chaos[i], want[i])
		}
	}
}

func TestNewChaosActionsValidation(t *testing.T) {
	const head = "name: s\nstack: simplydone\nload:\n  phases: [{duration: 10m, rate: 1}]\nslos: [success_rate >= 99%]\nchaos:\n  - "
	cases := []struct{ name, action, want string }{
		{"pause without duration", "{at: 1m, action: pause-instance}",
			`s.yaml:7:5: chaos[0].duration: missing; pause-instance needs how long the instance stays frozen, such as 3m`},
		{"http-error zero duration", "{at: 1m, action: http-error, duration: 0s}",
			`s.yaml:7:44: chaos[0].duration: 0s is not above 0; give how long the load balancer injects errors, such as 3m`},
		{"http-error status not 5xx", "{at: 1m, action: http-error, duration: 1m, status: 404}",
			`s.yaml:7:56: chaos[0].status: 404 is not allowed; use a 5xx status a target would answer, 500 to 599 (default 503)`},
		{"http-error percent too high", "{at: 1m, action: http-error, duration: 1m, percent: 150}",
			`s.yaml:7:57: chaos[0].percent: 150 is not allowed; use more than 0 and at most 100 (the share of requests hit)`},
		{"http-error percent zero", "{at: 1m, action: http-error, duration: 1m, percent: 0}",
			`s.yaml:7:57: chaos[0].percent: 0 is not allowed; use more than 0 and at most 100 (the share of requests hit)`},
		{"http-error with latency", "{at: 1m, action: http-error, duration: 1m, latency: 1s}",
			`s.yaml:7:57: chaos[0].latency: not allowed with http-error; only latency take latency`},
		{"latency without latency", "{at: 1m, action: latency, duration: 1m}",
			`s.yaml:7:5: chaos[0].latency: missing; latency needs the delay to add before forwarding, such as 200ms`},
		{"latency with status", "{at: 1m, action: latency, duration: 1m, latency: 1s, status: 503}",
			`s.yaml:7:66: chaos[0].status: not allowed with latency; only http-error take status`},
		{"jitter above latency", "{at: 1m, action: latency, duration: 1m, latency: 100ms, jitter: 1s}",
			`s.yaml:7:69: chaos[0].jitter: 1s is not allowed; use 0 up to the latency (100ms)`},
		{"latency too long", "{at: 1m, action: latency, duration: 1m, latency: 2m}",
			`s.yaml:7:54: chaos[0].latency: 2m is too long; use at most 1m (request time)`},
		{"stop with percent", "{at: 1m, action: stop-instance, duration: 1m, percent: 50}",
			`s.yaml:7:60: chaos[0].percent: not allowed with stop-instance; only http-error, latency, bandwidth, connection-reset and connection-timeout take percent`},
		{"kill with jitter", "{at: 1m, action: kill-instance, jitter: 5ms}",
			`s.yaml:7:45: chaos[0].jitter: not allowed with kill-instance; only latency take jitter`},
		{"pause with status", "{at: 1m, action: pause-instance, duration: 1m, status: 503}",
			`s.yaml:7:60: chaos[0].status: not allowed with pause-instance; only http-error take status`},
		{"az-outage without zone", "{at: 1m, action: az-outage, duration: 30m}",
			`s.yaml:7:5: chaos[0].zone: missing; az-outage needs the zone whose power goes out`},
		{"az-outage zone not in stack", "{at: 1m, action: az-outage, duration: 30m, zone: us-west-2a}",
			`s.yaml:7:54: chaos[0].zone: "us-west-2a" is not a zone of stack simplydone; use one of us-east-1a, us-east-1b, us-east-1c`},
		{"http-error zone not in stack", "{at: 1m, action: http-error, duration: 1m, zone: x}",
			`s.yaml:7:54: chaos[0].zone: "x" is not a zone of stack simplydone; use one of us-east-1a, us-east-1b, us-east-1c`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(head+c.action+"\n"))
			if err == nil {
				t.Fatal("accepted")
			}
			if got := err.Error(); got != c.want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
	if _, err := Parse("s.yaml", []byte(head+"{at: 1m, action: latency, duration: 1m, latency: 1s, percent: 12.5}\n")); err != nil {
		t.Fatalf("a good latency action was refused: %v", err)
	}
}
