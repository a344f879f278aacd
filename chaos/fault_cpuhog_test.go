package chaos

import (
	"context"
	"testing"
)

// refusingHog is a runtime that cannot burn CPU in the instance.
type refusingHog struct{ *hogFleet }

func (refusingHog) Hog(context.Context, string) (func() error, error) { return nil, errRefused }

func TestCPUHogFault(t *testing.T) {
	hog := func(cold bool) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			h := &hogFleet{fakeFleet: newFleet(), hogs: map[string]bool{}, cold: cold}
			return &cpuHog{hogger: h, id: "i-b1"}, h.fakeFleet
		}
	}
	checkFaults(t, []faultCase{
		{name: "burns, seen in the reading, stopped", make: hog(false),
			seen: "i-b1 burns CPU: the runtime reads 100% CPU",
			log:  []string{"hog i-b1", "unhog i-b1"}},
		{name: "the reading does not show it: stopped", make: hog(true),
			verify: "the runtime's CPU reading of i-b1 stayed at 5% (<nil>), below 70%",
			log:    []string{"hog i-b1", "unhog i-b1"}},
		{name: "the runtime cannot burn",
			make: func() (fault, *fakeFleet) {
				h := &hogFleet{fakeFleet: newFleet(), hogs: map[string]bool{}}
				return &cpuHog{hogger: refusingHog{h}, id: "i-b1"}, h.fakeFleet
			},
			apply: "burn CPU in i-b1: refused"},
	})
}
