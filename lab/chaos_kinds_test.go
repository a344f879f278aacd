package lab

import (
	"reflect"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/asg"
)

func TestScenarioChaosReachesTheRunnerWhole(t *testing.T) {
	sc := &scenarios.Scenario{Chaos: []scenarios.ChaosAction{{At: time.Minute, After: "in_service >= 3", Every: 5 * time.Minute,
		EveryJitter: time.Minute, Repeat: 2, Action: chaos.Latency, Zone: "z", Duration: 2 * time.Minute, Percent: 30,
		Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Count: 4, Bandwidth: 1000, BlackholeAt: time.Second,
		MeanGap: time.Hour, MinGap: time.Minute, Target: &scenarios.Target{IDs: []string{"i-1"}, Count: 2, Percent: 5, Pick: "oldest"}}}}
	got := ChaosActions(sc)[0]
	want := chaos.Action{At: time.Minute, After: "in_service >= 3", Every: 5 * time.Minute, EveryJitter: time.Minute, Repeat: 2,
		Kind: chaos.Latency, Zone: "z", Duration: 2 * time.Minute, Percent: 30, Count: 4,
		Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Rate: 1000, BlackholeFor: time.Second,
		MeanGap: time.Hour, MinGap: time.Minute, Select: chaos.Selector{IDs: []string{"i-1"}, Count: 2, Percent: 5, Order: "oldest"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var _ chaos.Pauser = chaosFleet{}
	var _ chaos.Hogger = chaosFleet{}
	var _ chaos.Desirer = chaosFleet{}
	var _ chaos.LoadBalancer = lbFaults{}
	var _ chaos.Store = labStore{}
	var _ chaos.Gauges = groupGauges{}
	var _ chaos.Undoer = crashUndoer{}
	var _ chaos.Capacity = (*asg.Group)(nil)
}
