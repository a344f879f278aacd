package scenarios

import (
	"reflect"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

// TestChaosActionIsHandedOverWhole parses every chaos field a file can give
// and checks what chaos's runner gets.
func TestChaosActionIsHandedOverWhole(t *testing.T) {
	doc := tlHead + "chaos:\n" +
		"  - {after: in_service >= 3, at: 1m, every: 5m, every_jitter: 1m, repeat: 2, action: latency, zone: us-east-1a, duration: 2m,\n" +
		"     percent: 30, latency: 200ms, jitter: 50ms, target: {count: 2, pick: oldest}}\n" +
		"  - {at: 2m, action: http-error, count: 4, status: 500, duration: 1m, target: {ids: [i-0123456789abcdef0]}}\n" +
		"  - {at: 3m, action: bandwidth, bandwidth: 1000, duration: 1m, target: {percent: 5}}\n" +
		"  - {at: 4m, action: az-outage, zone: us-east-1b, duration: 6m, blackhole_for: 1s, lb_node: down}\n" +
		"  - {at: 5m, action: monkey, duration: 20m, mean_gap: 3m, min_gap: 1m}\n"
	s, err := Parse("s.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []chaos.Action{
		{At: time.Minute, After: "in_service >= 3", Every: 5 * time.Minute, EveryJitter: time.Minute, Repeat: 2,
			Kind: chaos.Latency, Zone: "us-east-1a", Duration: 2 * time.Minute, Percent: 30,
			Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Select: chaos.Selector{Count: 2, Order: chaos.OrderOldest}},
		{At: 2 * time.Minute, Kind: chaos.HTTPError, Duration: time.Minute, Percent: 100, Status: 500, Count: 4,
			Select: chaos.Selector{IDs: []string{"i-0123456789abcdef0"}}},
		{At: 3 * time.Minute, Kind: chaos.Bandwidth, Duration: time.Minute, Percent: 100, Rate: 1000, Select: chaos.Selector{Percent: 5}},
		{At: 4 * time.Minute, Kind: chaos.AZOutage, Zone: "us-east-1b", Duration: 6 * time.Minute, Percent: 100, BlackholeFor: time.Second, LBNode: chaos.LBNodeDown},
		{At: 5 * time.Minute, Kind: chaos.Monkey, Duration: 20 * time.Minute, Percent: 100, MeanGap: 3 * time.Minute, MinGap: time.Minute},
	}
	if got := s.ChaosActions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// TestEveryChaosFieldIsHandedOver fails when chaos.Action gains a field the
// scenario does not fill, or ChaosAction one it does not hand over.
func TestEveryChaosFieldIsHandedOver(t *testing.T) {
	var full ChaosAction
	fill(reflect.ValueOf(&full).Elem())
	got := reflect.ValueOf(full.Chaos())
	for i := range got.NumField() {
		if name := got.Type().Field(i).Name; name != "By" && got.Field(i).IsZero() {
			t.Errorf("chaos.Action.%s is not filled from the scenario", name)
		}
	}
	for i := range reflect.TypeFor[ChaosAction]().NumField() {
		less := full
		reflect.ValueOf(&less).Elem().Field(i).SetZero()
		if reflect.DeepEqual(less.Chaos(), full.Chaos()) {
			t.Errorf("ChaosAction.%s does not reach chaos", reflect.TypeFor[ChaosAction]().Field(i).Name)
		}
	}
	for i := range reflect.TypeFor[Target]().NumField() {
		less, target := full, *full.Target
		reflect.ValueOf(&target).Elem().Field(i).SetZero()
		less.Target = &target
		if reflect.DeepEqual(less.Chaos(), full.Chaos()) {
			t.Errorf("Target.%s does not reach chaos", reflect.TypeFor[Target]().Field(i).Name)
		}
	}
}

// fill sets every field of v to something other than its zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(7)
	default:
		panic("fill: " + v.Kind().String())
	}
}
