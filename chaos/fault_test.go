package chaos

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// faultCase is one fault taken through what the runner does with it:
// apply; then verify (unless apply failed); then revert (unless apply
// failed without acting, or the fault is over once applied).
type faultCase struct {
	name    string
	make    func() (fault, *fakeFleet) // the fault, and the fleet whose log the fakes write
	apply   string                     // apply's error ("" none)
	acted   bool                       // apply's error says it may have acted: reverted
	over    string                     // a one-shot fault's word on why there is nothing to revert
	verify  string                     // verify's error ("" none)
	partial bool                       // verify's error is a part left out: the fault goes on
	seen    string                     // what verify saw
	holding []string                   // what it holds down after apply
	note    string                     // revert's note
	undo    string                     // revert's error ("" none)
	log     []string                   // what the fakes saw, in order
}

// testSelf writes what a fault says into the fleet's log.
func testSelf(f *fakeFleet) self {
	return self{name: "chaos #1",
		progress: func(note string) { f.note("progress: " + note) },
		missed:   func(reason string) { f.note("missed: " + reason) }}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func checkFaults(t *testing.T, cases []faultCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			flt, f := c.make()
			err := flt.apply(ctx, testSelf(f))
			if got := errText(err); got != c.apply {
				t.Fatalf("apply: %q, want %q", got, c.apply)
			}
			var acted actedError
			if errors.As(err, &acted) != c.acted {
				t.Fatalf("apply %v: acted %v, want %v", err, !c.acted, c.acted)
			}
			if got := holding(flt); !slices.Equal(got, c.holding) {
				t.Fatalf("holding %v, want %v", got, c.holding)
			}
			revert := err == nil || c.acted
			if o, ok := flt.(oneShot); ok {
				if o.over() != c.over {
					t.Fatalf("over: %q, want %q", o.over(), c.over)
				}
				revert = false
			}
			if err == nil && revert {
				seen, err := flt.verify(ctx)
				var part *partial
				if got := errText(err); got != c.verify || seen != c.seen || errors.As(err, &part) != c.partial {
					t.Fatalf("verify: seen %q, %q (partial %v), want seen %q, %q (partial %v)", seen, got, part != nil, c.seen, c.verify, c.partial)
				}
			}
			if revert {
				note, err := flt.revert(ctx)
				if got := errText(err); note != c.note || got != c.undo {
					t.Fatalf("revert: %q, %q, want %q, %q", note, got, c.note, c.undo)
				}
			}
			if got := f.lines(); !slices.Equal(got, c.log) {
				t.Fatalf("the fakes saw:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.log, "\n"))
			}
		})
	}
}

var errRefused = errors.New("refused")

// refusing is a fleet whose runtime refuses one operation: kill, stop or
// start.
type refusing struct {
	*fakeFleet
	op string
}

func (r refusing) Kill(ctx context.Context, id string) error {
	if r.op == "kill" {
		return errRefused
	}
	return r.fakeFleet.Kill(ctx, id)
}

func (r refusing) Stop(ctx context.Context, id string) error {
	if r.op == "stop" {
		return errRefused
	}
	return r.fakeFleet.Stop(ctx, id)
}

func (r refusing) Start(ctx context.Context, id string) error {
	if r.op == "start" {
		return errRefused
	}
	return r.fakeFleet.Start(ctx, id)
}

// refusingLB is a load balancer that refuses every fault.
type refusingLB struct{ *fakeLB }

func (refusingLB) InjectRequestFault(RequestFault) (func() int64, error) { return nil, errRefused }

// part is a fault that writes what it does into a log; fail is what its
// apply or verify says.
type part struct {
	name      string
	log       *[]string
	failApply error
	failCheck error
	holds     []string
}

func (p *part) apply(context.Context, self) error {
	if p.failApply != nil {
		return p.failApply
	}
	*p.log = append(*p.log, "apply "+p.name)
	return nil
}

func (p *part) verify(context.Context) (string, error) {
	return "saw " + p.name, p.failCheck
}

func (p *part) revert(context.Context) (string, error) {
	*p.log = append(*p.log, "revert "+p.name)
	return "undid " + p.name, nil
}

func (p *part) holding() []string { return p.holds }

func TestCompoundRevertsItsPartsInReverseOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failApply map[string]error // by part
		failCheck map[string]error
		apply     string
		verify    string
		partial   bool
		holding   []string
		note      string
		log       []string
	}{
		{name: "all applied",
			holding: []string{"i-1", "i-3"}, note: "undid a; undid b; undid c",
			log: []string{"apply a", "apply b", "apply c", "revert c", "revert b", "revert a"}},
		{name: "a later part fails to apply: the parts already applied are reverted",
			failApply: map[string]error{"c": errRefused}, apply: "refused", holding: []string{"i-1"}, note: "undid a; undid b",
			log: []string{"apply a", "apply b", "revert b", "revert a"}},
		{name: "the first part fails to apply: nothing to revert",
			failApply: map[string]error{"a": errRefused}, apply: "refused",
			log: []string{}},
		{name: "a part left out: the rest go on, and are reverted",
			failApply: map[string]error{"b": inPart("no b")}, verify: "no b", partial: true, holding: []string{"i-1", "i-3"}, note: "undid a; undid c",
			log: []string{"apply a", "apply c", "revert c", "revert a"}},
		{name: "a part not seen undoes the whole",
			failCheck: map[string]error{"b": errors.New("b not seen")}, verify: "b not seen", holding: []string{"i-1", "i-3"}, note: "undid a; undid b; undid c",
			log: []string{"apply a", "apply b", "apply c", "revert c", "revert b", "revert a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := []string{}
			c := &compound{}
			for _, n := range []string{"a", "b", "c"} {
				p := &part{name: n, log: &log, failApply: tc.failApply[n], failCheck: tc.failCheck[n]}
				if n != "b" {
					p.holds = []string{"i-" + map[string]string{"a": "1", "c": "3"}[n]}
				}
				c.parts = append(c.parts, p)
			}
			ctx := context.Background()
			err := c.apply(ctx, self{})
			var acted actedError
			if errText(err) != tc.apply || (err != nil && !errors.As(err, &acted)) {
				t.Fatalf("apply: %v, want %q, acted", err, tc.apply)
			}
			if got := c.holding(); !slices.Equal(got, tc.holding) {
				t.Fatalf("holding %v, want %v", got, tc.holding)
			}
			if err == nil {
				seen, err := c.verify(ctx)
				var part *partial
				if errText(err) != tc.verify || errors.As(err, &part) != tc.partial {
					t.Fatalf("verify: %v, want %q (partial %v)", err, tc.verify, tc.partial)
				}
				if err == nil && seen != "saw a; saw b; saw c" {
					t.Fatalf("seen %q", seen)
				}
			}
			note, err := c.revert(ctx)
			if note != tc.note || err != nil {
				t.Fatalf("revert: %q %v, want %q", note, err, tc.note)
			}
			if !slices.Equal(log, tc.log) {
				t.Fatalf("log %v, want %v", log, tc.log)
			}
		})
	}
}

func TestEveryKindHasAPlan(t *testing.T) {
	for _, k := range Kinds {
		if _, ok := plans[k]; !ok && k != Monkey {
			t.Errorf("%s has no plan", k)
		}
	}
	if len(plans) != len(Kinds)-1 {
		t.Errorf("%d plans for %d kinds (monkey is a timeline, not a fault)", len(plans), len(Kinds))
	}
	for _, k := range RequestKinds {
		if _, ok := requestFaults[k]; !ok {
			t.Errorf("request fault %s has no settings", k)
		}
	}
}
