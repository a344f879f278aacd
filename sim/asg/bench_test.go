package asg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/sim/az"
)

// BenchmarkTick is the controller's cost per tick (CPU sampling, health
// checks, refresh, rebalance and capacity) against group size, on a fake
// fleet and target group. ns/instance should stay flat as N grows.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			zero := time.Duration(0)
			c := clock.NewFake(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
			g, err := New(Config{
				Name: "bench", Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}, Min: 1, Max: n, Desired: n,
				HealthCheckType: "ELB", HealthCheckGracePeriod: 300 * time.Second, DefaultInstanceWarmup: &zero,
				Policies: []Policy{{Name: "cpu50", Type: TargetTrackingScaling, TargetValue: 50}},
				Clock:    c, Fleet: &fakeFleet{running: map[az.InstanceID]bool{}}, Targets: &fakeTargets{state: map[az.InstanceID]string{}},
				CPU: &recordingSink{}, Events: &recorder{}, Rand: rand.New(rand.NewPCG(1, 1)),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			g.Reconcile(ctx)
			if got := len(g.Instances()); got != n {
				b.Fatalf("%d instances", got)
			}
			b.ResetTimer()
			for b.Loop() {
				c.Advance(10 * time.Second)
				g.sampleCPU(ctx)
				g.Reconcile(ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instance")
		})
	}
}
