package entry

import (
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

func TestWallTTL(t *testing.T) {
	for _, tc := range []struct {
		speed float64
		want  uint32
	}{
		{1, 60},   // AWS: the ALB's records have a TTL of 60 s
		{10, 6},   // lab up's default speed
		{20, 3},   // the scenarios' usual speed
		{50, 1},   // 1.2 s rounds to 1
		{1000, 1}, // never below one second
	} {
		c, err := clock.NewScaled(tc.speed)
		if err != nil {
			t.Fatal(err)
		}
		if got := WallTTL(DefaultTTL, c); got != tc.want {
			t.Errorf("speed %g: TTL %d s, want %d", tc.speed, got, tc.want)
		}
	}
}

func TestTimingScalesDefaultLocalConfig(t *testing.T) {
	c, _ := clock.NewScaled(20)
	d := Timing{}.Wall(c)
	// DefaultLocalConfig x 10 in AWS time, /20 on the wall.
	if d.ProbeInterval != 500*time.Millisecond || d.ProbeTimeout != 100*time.Millisecond || d.GossipInterval != 50*time.Millisecond || d.SuspicionMult != 3 {
		t.Fatalf("speed 20: %+v", d)
	}
	fast, _ := clock.NewScaled(1000)
	if d := (Timing{}).Wall(fast); d.ProbeTimeout != minProbeTimeout || d.ProbeInterval != minProbeInterval {
		t.Fatalf("speed 1000 ignores the floors: %+v", d)
	}
}

func TestDisagreements(t *testing.T) {
	v := Views{
		"a": {"i-1": "healthy", "i-2": "unhealthy", "i-3": "healthy"},
		"b": {"i-1": "healthy", "i-2": "healthy"},
	}
	d := Disagreements(v)
	if len(d) != 2 || d[0].Target != "i-2" || d[1].Target != "i-3" {
		t.Fatalf("%v", d)
	}
	if _, ok := d[1].States["b"]; ok || d[1].States["a"] != "healthy" {
		t.Fatalf("a target one node lacks: %v", d[1])
	}
	if d := Disagreements(Views{"a": {"i-1": "healthy"}}); len(d) != 0 {
		t.Fatalf("one view cannot disagree: %v", d)
	}
}

func TestLoadBalancerName(t *testing.T) {
	for _, tc := range []struct{ name, zone, want string }{
		{"simplydone", "us-east-1a", "simplydone-1234567890.us-east-1.elb.localhost."},
		{"My Stack!", "eu-west-2c", "my-stack-1234567890.eu-west-2.elb.localhost."},
	} {
		if got := LoadBalancerName(tc.name, 1234567890, tc.zone); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.name, got, tc.want)
		}
	}
}
