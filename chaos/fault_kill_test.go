package chaos

import "testing"

func TestKillInstanceFault(t *testing.T) {
	checkFaults(t, []faultCase{
		{name: "killed: nothing to revert",
			make: func() (fault, *fakeFleet) { f := newFleet(); return &killInstance{target: f, id: "i-a1"}, f },
			over: "a killed instance stays dead; the Auto Scaling group replaces it",
			log:  []string{"kill i-a1"}},
		{name: "the runtime refuses",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				return &killInstance{target: refusing{f, "kill"}, id: "i-a1"}, f
			},
			apply: "kill i-a1: refused", over: "a killed instance stays dead; the Auto Scaling group replaces it"},
	})
}
