package cloudwatch

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
)

// recorder is a fake Publisher.
type recorder struct {
	mu     sync.Mutex
	events []events.Event
}

func (r *recorder) Publish(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Event(nil), r.events...)
}

func highCPU() AlarmConfig {
	c := alarmCfg(3, 3, "")
	c.Dimensions = Dims(DimAutoScalingGroupName, "simplydone")
	c.Threshold = 80
	return c
}

// An alarm 3 of 3 fires once three complete minutes breach, publishes one
// change, and is told about every evaluation while it stays in ALARM.
func TestServiceFiresAfterConfiguredPeriods(t *testing.T) {
	store, pub := NewStore(), &recorder{}
	svc := NewService(store, clock.NewFake(t0), pub)
	a, err := svc.AddAlarm(highCPU())
	if err != nil {
		t.Fatal(err)
	}
	if a.State() != StateInsufficientData {
		t.Fatalf("new alarm is %s", a.State())
	}
	var seen []State
	a.OnEvaluate(func(s State, ev Evaluation) {
		seen = append(seen, s)
		if ev.State != s || ev.Alarm != "AlarmHigh" || len(ev.Points) != 5 {
			t.Errorf("evaluation %+v", ev)
		}
	})
	for m := range 6 { // 90% CPU through 03:00-03:06
		putCPU(store, t0.Add(time.Duration(m)*time.Minute+30*time.Second), 90)
	}
	want := []State{
		StateInsufficientData, // 03:01:10: only 03:00 complete, 1 of 3 breaching
		StateInsufficientData, // 03:02:10: 2 breaching, not yet old enough
		StateAlarm,            // 03:03:10: 3 of 3
		StateAlarm,            // 03:04:10: stays, subscribers told again
		StateAlarm,            // 03:05:10
	}
	for i := range want {
		svc.EvaluateAll(t0.Add(time.Duration(i+1)*time.Minute + 10*time.Second))
	}
	if !equalStates(seen, want) {
		t.Errorf("states %v, want %v", seen, want)
	}
	evs := pub.all()
	if len(evs) != 1 {
		t.Fatalf("published %d events, want 1: %v", len(evs), evs)
	}
	ch := evs[0].(AlarmStateChanged)
	if ch.From != StateInsufficientData || ch.To != StateAlarm || ch.Kind() != "alarm" {
		t.Errorf("event %+v", ch)
	}
	wantMsg := `Alarm "AlarmHigh" changed from INSUFFICIENT_DATA to ALARM: Threshold Crossed: 3 out of the last 3 datapoints [90.0 (22/11/26 03:02:00), 90.0 (22/11/26 03:01:00), 90.0 (22/11/26 03:00:00)] were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).`
	if ch.Message() != wantMsg {
		t.Errorf("message\n got %s\nwant %s", ch.Message(), wantMsg)
	}
}

// The period in progress is never evaluated.
func TestServiceSkipsPeriodInProgress(t *testing.T) {
	store := NewStore()
	svc := NewService(store, clock.NewFake(t0), nil)
	c := highCPU()
	c.EvaluationPeriods, c.DatapointsToAlarm = 1, 1
	a, _ := svc.AddAlarm(c)
	putCPU(store, t0.Add(10*time.Second), 99)
	svc.EvaluateAll(t0.Add(50 * time.Second))
	if a.State() != StateInsufficientData {
		t.Errorf("evaluated the period in progress: %s", a.State())
	}
	svc.EvaluateAll(t0.Add(time.Minute))
	if a.State() != StateAlarm {
		t.Errorf("complete period not evaluated: %s", a.State())
	}
}

func TestServiceBackToOKAndInsufficient(t *testing.T) {
	store, pub := NewStore(), &recorder{}
	svc := NewService(store, clock.NewFake(t0), pub)
	c := highCPU()
	c.EvaluationPeriods, c.DatapointsToAlarm = 1, 1
	a, _ := svc.AddAlarm(c)
	putCPU(store, t0, 90)
	putCPU(store, t0.Add(time.Minute), 10)
	for i := 1; i <= 5; i++ {
		svc.EvaluateAll(t0.Add(time.Duration(i) * time.Minute))
	}
	// ALARM at 03:01, OK at 03:02, then the range (N+2 = 3 periods) empties at 03:05.
	var got []string
	for _, e := range pub.all() {
		ch := e.(AlarmStateChanged)
		got = append(got, string(ch.From)+"->"+string(ch.To))
	}
	want := "INSUFFICIENT_DATA->ALARM ALARM->OK OK->INSUFFICIENT_DATA"
	if strings.Join(got, " ") != want {
		t.Errorf("transitions %v, want %s", got, want)
	}
	if r, _ := a.StateReason(); r.Text != "Insufficient Data: 1 datapoint was unknown." {
		t.Errorf("reason %q", r.Text)
	}
}

func TestAddAlarmErrors(t *testing.T) {
	svc := NewService(NewStore(WithRetention(time.Hour)), clock.NewFake(t0), nil)
	if _, err := svc.AddAlarm(highCPU()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddAlarm(highCPU()); err == nil || !strings.Contains(err.Error(), "AlarmName") {
		t.Errorf("duplicate name: %v", err)
	}
	bad := highCPU()
	bad.Name, bad.Period = "Other", 45*time.Second
	if _, err := svc.AddAlarm(bad); err == nil || !strings.Contains(err.Error(), "Period") {
		t.Errorf("bad period: %v", err)
	}
	long := highCPU()
	long.Name, long.EvaluationPeriods, long.DatapointsToAlarm = "Long", 60, 60
	if _, err := svc.AddAlarm(long); err == nil || !strings.Contains(err.Error(), "keeps") {
		t.Errorf("beyond retention: %v", err)
	}
}

// The loop on a fake clock: one-minute alarms are evaluated once a minute,
// 10 s alarms every 10 s, and Close stops the goroutine.
func TestServiceLoopCadence(t *testing.T) {
	fake := clock.NewFake(t0)
	store := NewStore()
	svc := NewService(store, fake, nil)
	minute, _ := svc.AddAlarm(highCPU())
	hr := highCPU()
	hr.Name, hr.Period = "HighRes", 10*time.Second
	fast, _ := svc.AddAlarm(hr)

	var mu sync.Mutex
	count := map[string]int{}
	for _, a := range []*Alarm{minute, fast} {
		a.OnEvaluate(func(_ State, ev Evaluation) {
			mu.Lock()
			count[ev.Alarm]++
			mu.Unlock()
		})
	}
	svc.Start(context.Background())
	for range 18 { // three AWS minutes in 10 s steps
		waitForWaiter(t, fake)
		fake.Advance(10 * time.Second)
	}
	waitForWaiter(t, fake) // the last tick's evaluation is done
	svc.Close()
	svc.Close()
	mu.Lock()
	defer mu.Unlock()
	if count["AlarmHigh"] != 3 || count["HighRes"] != 18 {
		t.Errorf("evaluations %v, want AlarmHigh 3 and HighRes 18", count)
	}
}

// waitForWaiter blocks until the loop is parked on its next timer.
func waitForWaiter(t *testing.T, fake *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fake.Waiters() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("loop never waited on the clock")
		}
		runtime.Gosched()
	}
}

func TestCloseWithoutStart(t *testing.T) {
	svc := NewService(NewStore(), clock.NewFake(t0), nil)
	svc.Close()
	svc.Close()
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var _ Publisher = (*events.Bus)(nil)

func TestStoreConcurrentUse(t *testing.T) {
	store := NewStore()
	svc := NewService(store, clock.NewFake(t0), nil)
	if _, err := svc.AddAlarm(highCPU()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				putCPU(store, t0.Add(time.Duration(i*w)*time.Second), float64(i))
				svc.EvaluateAll(t0.Add(time.Duration(i) * time.Second))
			}
		})
	}
	wg.Wait()
}
