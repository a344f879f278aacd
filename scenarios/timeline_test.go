package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

const tlHead = "name: s\nstack: simplydone\nload:\n  phases: [{duration: 30m, rate: 1}]\nslos: [success_rate >= 99%]\n"

func TestChaosTimelineTargetingAndLimitsParse(t *testing.T) {
	doc := tlHead + "max_down_instances: 2\nmax_down_zones: 1\nstop_conditions: [error_rate > 50% for 1m]\nchaos:\n" +
		"  - {after: desired_capacity >= 4, at: 30s, action: kill-instance, target: {count: 2, pick: oldest}}\n" +
		"  - {at: 1m, every: 5m, every_jitter: 1m, repeat: 3, action: connection-reset, percent: 30, duration: 1m, target: {ids: [i-0123456789abcdef0]}}\n" +
		"  - {at: 2m, action: monkey, duration: 20m, mean_gap: 3m, min_gap: 1m}\n" +
		"  - {at: 3m, action: http-error, count: 5, duration: 1m}\n" +
		"  - {at: 4m, action: bandwidth, bandwidth: 16384, duration: 1m}\n" +
		"  - {at: 5m, action: az-outage, zone: us-east-1a, duration: 10m, blackhole_for: 2m}\n" +
		"  - {at: 6m, action: cpu-hog, duration: 2m, target: {percent: 50}}\n" +
		"  - {at: 7m, action: store-outage, duration: 1m}\n" +
		"  - {at: 8m, action: az-partition, zone: us-east-1b, duration: 1m}\n" +
		"  - {at: 9m, action: kill-lb-node, zone: us-east-1c, duration: 1m}\n" +
		"  - {at: 9m, action: connection-timeout, zone: us-east-1c, duration: 1m}\n"
	s, err := Parse("s.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxDownInstances != 2 || s.MaxDownZones != 1 {
		t.Fatalf("limits %d %d", s.MaxDownInstances, s.MaxDownZones)
	}
	if sc := s.StopConditions[0]; sc.For != time.Minute || sc.Metric != ErrorRate || sc.Threshold != 50 || sc.Expr != "error_rate > 50% for 1m" {
		t.Fatalf("stop condition %+v", sc)
	}
	a := s.Chaos
	if a[0].After != "desired_capacity >= 4" || a[0].At != 30*time.Second || a[0].Target.Count != 2 || a[0].Target.Pick != chaos.OrderOldest {
		t.Fatalf("after: %+v %+v", a[0], a[0].Target)
	}
	if a[1].Every != 5*time.Minute || a[1].EveryJitter != time.Minute || a[1].Repeat != 3 || a[1].Target.IDs[0] != "i-0123456789abcdef0" {
		t.Fatalf("every: %+v", a[1])
	}
	if a[2].MeanGap != 3*time.Minute || a[2].MinGap != time.Minute || a[3].Count != 5 || a[4].Bandwidth != 16384 || a[5].BlackholeAt != 2*time.Minute {
		t.Fatalf("fields: %+v", a[2:6])
	}
}

func TestChaosTimelineValidation(t *testing.T) {
	head := tlHead + "chaos:\n  - "
	cases := []struct{ name, action, want string }{
		{"after names a metric it does not know", "{after: desired >= 4, action: kill-instance}",
			`s.yaml:7:13: chaos[0].after: "desired" is not a metric; use one of desired_capacity, in_service, running, such as desired_capacity >= 4`},
		{"after with a bad number, quoted", `{after: "in_service >= four", action: kill-instance}`,
			`s.yaml:7:28: chaos[0].after: "four" is not a number 0 or more`},
		{"repeat without every", "{at: 1m, repeat: 3, action: kill-instance}",
			`s.yaml:7:22: chaos[0].repeat: given without every; say how far apart the repetitions are, such as every: 5m`},
		{"jitter not below every", "{at: 1m, every: 2m, every_jitter: 2m, action: kill-instance}",
			`s.yaml:7:39: chaos[0].every_jitter: 2m is not allowed; use 0 up to less than every (2m)`},
		{"every shorter than the fault", "{at: 1m, every: 1m, action: stop-instance, duration: 2m}",
			`s.yaml:7:21: chaos[0].every: 1m is shorter than the duration (2m); a fault must end before it happens again`},
		{"count on a kill", "{at: 1m, action: kill-instance, count: 2}",
			`s.yaml:7:44: chaos[0].count: not allowed with kill-instance; only http-error takes count (the first N requests fail); to choose instances use target.count`},
		{"bandwidth without a rate", "{at: 1m, action: bandwidth, duration: 1m}",
			`s.yaml:7:5: chaos[0].bandwidth: missing; bandwidth needs the bytes per second a response body may take, such as 16384`},
		{"monkey without mean gap", "{at: 1m, action: monkey, duration: 5m}",
			`s.yaml:7:5: chaos[0].mean_gap: missing; monkey needs the mean time between kills, such as 3m`},
		{"monkey past the load", "{at: 20m, action: monkey, duration: 20m, mean_gap: 3m}",
			`s.yaml:7:41: chaos[0].duration: the monkey would be loose until 40m, past the end of the load (30m)`},
		{"partition without zone", "{at: 1m, action: az-partition, duration: 1m}",
			`s.yaml:7:5: chaos[0].zone: missing; az-partition needs the zone it takes down`},
		{"store outage in a zone", "{at: 1m, action: store-outage, duration: 1m, zone: us-east-1a}",
			`s.yaml:7:56: chaos[0].zone: not allowed with store-outage; the database is shared by every zone`},
		{"blackhole longer than the outage", "{at: 1m, action: az-outage, zone: us-east-1a, duration: 2m, blackhole_for: 3m}",
			`s.yaml:7:80: chaos[0].blackhole_for: 3m is not allowed; give above 0 and at most the duration (2m); leave it out for FIS's 2m`},
		{"lb_node on another action", "{at: 1m, action: kill-lb-node, zone: us-east-1a, duration: 2m, lb_node: down}",
			`s.yaml:7:77: chaos[0].lb_node: not allowed with kill-lb-node; only az-outage takes it (use kill-lb-node to take a node down on its own)`},
		{"lb_node neither up nor down", "{at: 1m, action: az-outage, zone: us-east-1a, duration: 2m, lb_node: dead}",
			`s.yaml:7:74: chaos[0].lb_node: "dead" is not allowed; use one of up, down`},
		{"two selectors", "{at: 1m, action: kill-instance, target: {count: 1, percent: 10}}",
			`s.yaml:7:45: chaos[0].target: give one of ids, count and percent`},
		{"bad pick", "{at: 1m, action: kill-instance, target: {pick: eldest}}",
			`s.yaml:7:52: chaos[0].target.pick: "eldest" is not allowed; use one of random, oldest, newest; did you mean oldest?`},
		{"target on a zone fault", "{at: 1m, action: kill-lb-node, zone: us-east-1a, duration: 1m, target: {count: 1}}",
			`s.yaml:7:76: chaos[0].target: not allowed with kill-lb-node; only kill-instance, stop-instance, pause-instance, cpu-hog and the request faults (http-error, latency, bandwidth, connection-reset, connection-timeout) choose instances`},
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
}

func TestStopConditionWindow(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{tlHead + "stop_conditions: [error_rate > 50% for soon]\n", `"soon" after for is not a duration above 0`},
		{"name: s\nstack: simplydone\nload:\n  phases: [{duration: 30m, rate: 1}]\nslos: [error_rate < 5% for 1m]\n", "an SLO is judged over the whole run and takes no \"for\""},
	} {
		_, err := Parse("s.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want %s", err, tc.want)
		}
	}
}

func TestLimitsValidation(t *testing.T) {
	_, err := Parse("s.yaml", []byte(tlHead+"max_down_zones: 0\n"))
	if err == nil || !strings.Contains(err.Error(), "max_down_zones: 0 is not allowed; give 1 or more") {
		t.Fatal(err)
	}
}
