package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/stack"
)

// TestUsersPhases reads a profile of virtual users: a ramp and a steady
// count, the load's think time for phases that give none, a phase's own
// think time over it, and the default when the file gives none.
func TestUsersPhases(t *testing.T) {
	src := top + `load:
  think_time: 20s
  phases:
    - {name: rise, duration: 2m, users: {from: 100, to: 10000}}
    - {name: peak, duration: 5m, users: 10000, think_time: 30s}
` + slos
	s, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Phase{
		{Name: "rise", Duration: 2 * time.Minute, From: 100, To: 10000, Users: true, ThinkTime: 20 * time.Second},
		{Name: "peak", Duration: 5 * time.Minute, From: 10000, To: 10000, Users: true, ThinkTime: 30 * time.Second},
	}
	for i := range want {
		if s.Load.Phases[i] != want[i] {
			t.Errorf("phase %d: %+v, want %+v", i, s.Load.Phases[i], want[i])
		}
	}
	if !s.Load.Closed() || s.Load.PeakUsers() != 10000 {
		t.Errorf("closed %v, peak users %d", s.Load.Closed(), s.Load.PeakUsers())
	}
	s, err = Parse("s.yaml", []byte(top+"load:\n  phases: [{duration: 1m, users: 5}]\n"+slos))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Load.Phases[0]; p.ThinkTime != DefaultThinkTime || !p.Users || p.From != 5 {
		t.Errorf("phase %+v, want 5 users thinking %s", p, DefaultThinkTime)
	}
	s, _ = Parse("s.yaml", []byte(top+phases+slos))
	if s.Load.Closed() || s.Load.PeakUsers() != 0 {
		t.Error("a profile of rates is not closed")
	}
	if s.CapacityScale != 1 {
		t.Errorf("capacity_scale defaults to %g, want 1", s.CapacityScale)
	}
	s, _ = Parse("s.yaml", []byte(top+"capacity_scale: 0.25\n"+phases+slos))
	if s.CapacityScale != 0.25 {
		t.Errorf("capacity_scale %g, want 0.25", s.CapacityScale)
	}
}

func TestBadUsersPhases(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"users with rate", top + "load:\n  phases:\n    - {name: a, duration: 5m, users: 10, rate: 5}\n" + slos,
			[]string{`s.yaml:5:48: load.phases[0].rate: given with users; a phase counts users (users: 500, or users: {from: 100, to: 10000}) or gives a rate, not both`}},
		{"users not whole", top + "load:\n  phases:\n    - {name: a, duration: 5m, users: 2.5}\n" + slos,
			[]string{`s.yaml:5:38: load.phases[0].users: "2.5" is not a number of users; give a whole number such as 500, or {from: 100, to: 10000} for a ramp`}},
		{"half a users ramp and too many", top + "load:\n  phases:\n    - {name: a, duration: 5m, users: {from: 200000}}\n" + slos,
			[]string{
				`s.yaml:5:38: load.phases[0].users.to: missing; a ramp of users needs from and to, such as {from: 100, to: 10000}`,
				`s.yaml:5:45: load.phases[0].users.from: 200000 is not allowed; use 0 to 100000 concurrent virtual users`,
			}},
		{"models mixed, every problem at once", top + "load:\n  think_time: -1s\n  phases:\n    - {name: a, duration: 5m, users: 10, think_time: 2h}\n    - {name: b, duration: 5m, rate: 10, think_time: 1s}\n" + slos,
			[]string{
				`s.yaml:4:15: load.think_time: -1s is not allowed; give a virtual user's mean pause between an answer and its next request, 0 to 1h (AWS time), such as 5s`,
				`s.yaml:6:54: load.phases[0].think_time: 2h is not allowed; give a virtual user's mean pause between an answer and its next request, 0 to 1h (AWS time), such as 5s`,
				`s.yaml:7:37: load.phases[1].rate: the profile counts users (load.phases[0].users); give users in every phase or a rate in every phase`,
				`s.yaml:7:53: load.phases[1].think_time: not allowed with a rate; think_time is the pause of virtual users (a phase with users:)`,
			}},
		{"capacity scale out of range", top + "capacity_scale: 0.01\n" + phases + slos,
			[]string{`s.yaml:3:17: capacity_scale: 0.01 is not allowed; use 0.05 to 1, the factor on every instance's CPU share and every request's CPU cost (1: full size)`}},
		{"load.users with users phases", top + "load:\n  users: 50\n  phases:\n    - {name: a, duration: 5m, users: 10}\n" + slos,
			[]string{`s.yaml:4:10: load.users: not allowed when the phases count users; each users phase says how many (load.phases[0].users)`}},
		{"load.users out of range", top + "load:\n  users: 0\n  phases:\n    - {name: a, duration: 5m, rate: 10}\n" + slos,
			[]string{`s.yaml:4:10: load.users: 0 is out of range; give 1 to 100000 virtual users to send the phases' rates`}},
		{"carts with rates", top + "load:\n  mix: {list: 1, cart: 2, add_to_cart: 3}\n  phases:\n    - {name: a, duration: 5m, rate: 10}\n" + slos,
			[]string{
				`s.yaml:4:24: load.mix.cart: 2 needs phases that count users (users: N): a cart belongs to a user whose requests follow one another; with rates, a user's requests overlap and two first requests can each get a session of their own`,
				`s.yaml:4:40: load.mix.add_to_cart: 3 needs phases that count users (users: N): a cart belongs to a user whose requests follow one another; with rates, a user's requests overlap and two first requests can each get a session of their own`,
			}},
		{"rates first", top + "load:\n  think_time: 5s\n  phases:\n    - {name: a, duration: 5m, rate: 10}\n    - {name: b, duration: 5m, users: 10}\n" + slos,
			[]string{
				`s.yaml:4:15: load.think_time: not allowed when the phases give rates; think_time is the pause of virtual users (phases with users:)`,
				`s.yaml:7:38: load.phases[1].users: the profile gives rates (load.phases[0]); give users in every phase or a rate in every phase`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *stack.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got %v, want *Errors", err)
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestFlashSale10k pins the seeds' sale: users, not rates, from 100 to
// 10,000 within a few AWS minutes, at a capacity scale below 1, with an
// instance and a zone lost at the peak.
func TestFlashSale10k(t *testing.T) {
	s, err := Builtin("flash-sale-10k")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Load.Closed() || s.Load.PeakUsers() != 10000 || s.Load.Phases[0].From != 100 {
		t.Fatalf("closed %v, peak %d users, starting at %g", s.Load.Closed(), s.Load.PeakUsers(), s.Load.Phases[0].From)
	}
	var rise time.Duration
	for _, p := range s.Load.Phases {
		if p.To > p.From {
			rise += p.Duration
		}
	}
	if rise > 5*time.Minute || s.CapacityScale >= 1 {
		t.Errorf("rise %s, capacity scale %g", rise, s.CapacityScale)
	}
	kinds := map[string]bool{}
	for _, a := range s.Chaos {
		kinds[a.Action] = true
	}
	if !kinds["kill-instance"] || !kinds["az-outage"] {
		t.Errorf("chaos %v: want an instance and a zone lost", kinds)
	}
}
