package chaos

import "testing"

func TestStopInstanceFault(t *testing.T) {
	stop := func(op string) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			f := newFleet()
			return &stopInstance{target: refusing{f, op}, id: "i-c1"}, f
		}
	}
	checkFaults(t, []faultCase{
		{name: "stopped, then started", make: stop(""), holding: []string{"i-c1"},
			log: []string{"stop i-c1", "start i-c1"}},
		{name: "the runtime refuses the stop", make: stop("stop"), apply: "stop i-c1: refused", holding: []string{"i-c1"}},
		{name: "the start finds it gone", make: stop("start"), holding: []string{"i-c1"}, undo: "refused",
			log: []string{"stop i-c1"}},
	})
}
