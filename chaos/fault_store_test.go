package chaos

import (
	"context"
	"testing"
)

// refusingStore is a database that cannot be locked.
type refusingStore struct{ *fakeStore }

func (refusingStore) Lock(context.Context) (func() error, error) { return nil, errRefused }

func TestStoreOutageFault(t *testing.T) {
	store := func(deaf bool) func() (fault, *fakeFleet) {
		return func() (fault, *fakeFleet) {
			f := newFleet()
			return &storeOutage{store: &fakeStore{f: f, deaf: deaf}, probe: "i-a1"}, f
		}
	}
	checkFaults(t, []faultCase{
		{name: "locked, seen by deep health, unlocked", make: store(false),
			seen: "i-a1 fails its deep health check: 503 store unavailable", note: "the database is unlocked",
			log: []string{"lock db", "unlock db"}},
		{name: "deep health does not see it: unlocked", make: store(true),
			verify: "i-a1 still passes its deep health check with the database locked", note: "the database is unlocked",
			log: []string{"lock db", "unlock db"}},
		{name: "the lock fails",
			make: func() (fault, *fakeFleet) {
				f := newFleet()
				return &storeOutage{store: refusingStore{&fakeStore{f: f}}, probe: "i-a1"}, f
			},
			apply: "lock the database: refused"},
	})
}
