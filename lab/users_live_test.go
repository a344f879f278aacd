package lab

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/simplydone/lab/internal/longtest"
	"github.com/simplydone/lab/scenarios"
)

// TestUsersRunSaysItsUsers runs a short scenario whose phases count users
// (speed 20): the summary and seconds.jsonl say how many users sent the
// load, the console says the rate came from them, and the users' think time
// (AWS time) is scaled by the speed: 40 users thinking 20 s AWS (1 s wall)
// send about 40 requests per wall second, not back to back.
func TestUsersRunSaysItsUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the lab")
	}
	longtest.Skip(t, "load's TestClosedModelAgainstAServer runs the closed model against a real server")
	s := testStack(t, 18593)
	sc, err := scenarios.Parse("users.yaml", []byte(`name: users
stack: simplydone
speed: 20
seed: 4
load:
  think_time: 20s
  phases:
    - {name: rise, duration: 1m, users: {from: 0, to: 40}}
    - {name: steady, duration: 2m, users: 40}
slos: [requests >= 1]
`))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		recs    []SecondRecord
		console syncBuffer
	)
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: s, Driver: DriverProcess, RunsDir: t.TempDir(), StateDir: t.TempDir(),
		SimplyDone: []string{simplydone}, Console: &console,
		OnSecond: func(r SecondRecord) { mu.Lock(); recs = append(recs, r); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%s: %d requests, %.1f/s from up to %d users; lag p99 %.1f ms", sum.Verdict, sum.Requests, sum.AchievedRate, sum.Users, sum.LagP99Ms)
	if sum.Users != 40 || sum.OfferedRate != sum.AchievedRate {
		t.Errorf("summary: users %d, offered %.1f/s, achieved %.1f/s", sum.Users, sum.OfferedRate, sum.AchievedRate)
	}
	// 9 wall seconds: a third ramping to 40 users, then 6 s of 40 users at
	// one request per second each, plus each user's first request.
	if sum.Requests < 200 || sum.Requests > 420 {
		t.Errorf("%d requests, want about 300", sum.Requests)
	}
	most := 0
	for _, r := range recs {
		most = max(most, r.Users)
	}
	if most != 40 || recs[0].Users == 0 || recs[0].Users >= 40 {
		t.Errorf("seconds.jsonl: %d records, users %d in the first, at most %d; want a ramp to 40", len(recs), recs[0].Users, most)
	}
	if out := console.String(); !strings.Contains(out, "up to 40 virtual users (closed model)") || !strings.Contains(out, "by 40 users") {
		t.Errorf("the console does not say the load came from 40 users:\n%s", out)
	}
}
