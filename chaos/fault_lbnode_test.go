package chaos

import "testing"

// refusingNodes is node control whose node will not go down.
type refusingNodes struct{}

func (refusingNodes) NodeDown(string) (func(), error) { return nil, errRefused }

func TestLBNodeDownFault(t *testing.T) {
	checkFaults(t, []faultCase{
		{name: "down, then back",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				return &lbNodeDown{nodes: &fakeNodes{f: f, down: map[string]bool{}}, zone: "a"}, f
			},
			note: "the node in a is back",
			log:  []string{"node down a", "node up a"}},
		{name: "the node stays up",
			make:  func() (fault, *fakeFleet) { return &lbNodeDown{nodes: refusingNodes{}, zone: "a"}, newFleet() },
			apply: "the node in a stays up: refused"},
	})
}
