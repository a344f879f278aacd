package chaos

import "testing"

func TestAZPartitionFault(t *testing.T) {
	checkFaults(t, []faultCase{
		{name: "the zone blackholed, then reachable",
			make: func() (fault, *fakeFleet) { f := newFleet(); return &azPartition{lb: newFakeLB(f), zone: "b"}, f },
			note: "b is reachable again; 7 request(s) timed out into it",
			log:  []string{"lb inject chaos #1 zone=b percent=100 status=0 latency=0s jitter=0s", "lb remove chaos #1"}},
		{name: "the load balancer refuses",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				return &azPartition{lb: refusingLB{newFakeLB(f)}, zone: "b"}, f
			},
			apply: "the load balancer refused it: refused"},
	})
}
