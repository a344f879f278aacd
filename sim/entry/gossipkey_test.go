package entry

import (
	"bytes"
	"io"
	"log"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/simplydone/lab/clock"
)

// TestForeignMemberCannotJoin: the cluster runs with a per-run key and
// label (issue 19, "the memberlist cluster uses a per-run key and label, so
// nothing outside the run can gossip nodes dead or alive"). A memberlist
// node without the key, with the right label but no key, with a wrong key,
// or with the key and another label cannot join, and no member's view of
// who is alive, nor any gossiped view, changes; a member given the run's
// Gossip joins in the same window (so the window is long enough to see a
// join).
func TestForeignMemberCannotJoin(t *testing.T) {
	c, err := clock.NewScaled(50)
	if err != nil {
		t.Fatal(err)
	}
	var specs []NodeSpec
	for i, z := range zoneNames {
		specs = append(specs, NodeSpec{Zone: z, Addr: netip.AddrFrom4([4]byte{127, 0, byte(i + 1), 1}),
			Source: &mapSource{m: map[string]string{"i-1": "healthy"}}})
	}
	cl, err := StartCluster(ClusterConfig{Nodes: specs, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	g := cl.Gossip()
	if len(g.Key) != 32 || g.Label == "" {
		t.Fatalf("cluster gossip key %d bytes, label %q; want 32 bytes and a label", len(g.Key), g.Label)
	}
	other, _ := NewGossip()
	if bytes.Equal(other.Key, g.Key) || other.Label == g.Label {
		t.Fatal("two runs got the same key or label")
	}
	for _, z := range zoneNames {
		waitFor(t, 5*time.Second, z+" sees every node", func() bool { return len(cl.Member(z).Alive()) == 3 })
	}
	viewsBefore := cl.Views()

	// Each foreign node takes a real node's name, to gossip it dead or
	// alive if it got in, and announces a view of its own.
	foreign := []struct {
		name       string
		key        []byte
		label      string
		joinFailed bool
	}{
		{name: "no key, no label"},
		{name: "the label, no key", label: g.Label},
		{name: "a wrong key", key: other.Key, label: g.Label},
		{name: "the key, another label", key: g.Key, label: other.Label},
	}
	d := cl.Durations()
	for i, f := range foreign {
		mc := memberlistConfig("us-east-1b", "127.0.9.1", 0, d, nil)
		mc.Logger = log.New(io.Discard, "", 0)
		mc.SecretKey, mc.Label = f.key, f.label
		mc.Name = zoneNames[i%len(zoneNames)]
		ml, err := memberlist.Create(mc)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		defer ml.Shutdown()
		if n, err := ml.Join(cl.Peers()); err == nil || n != 0 {
			t.Errorf("%s: joined %d members (err %v); want no member reached", f.name, n, err)
		}
		if n := ml.NumMembers(); n != 1 {
			t.Errorf("%s: the foreign node learned %d members; want only itself", f.name, n)
		}
	}

	// The control: the run's own key and label join within the window.
	m, err := StartMember(MemberConfig{Name: "control", Role: RoleObserver, Bind: "127.0.9.2", Timing: d, Gossip: g}, cl.Peers())
	if err != nil {
		t.Fatalf("a member with the run's gossip key: %v", err)
	}
	defer m.Kill()
	for _, z := range zoneNames {
		waitFor(t, 5*time.Second, z+" sees the control member", func() bool { return cl.Member(z).Alive()["control"] })
	}
	for _, z := range zoneNames {
		alive := cl.Member(z).Alive()
		want := map[string]bool{"us-east-1a": true, "us-east-1b": true, "us-east-1c": true, "control": true}
		if !maps.Equal(alive, want) {
			t.Errorf("%s holds %v alive; want %v (foreign nodes changed the membership)", z, slices.Sorted(maps.Keys(alive)), slices.Sorted(maps.Keys(want)))
		}
	}
	if after := cl.Views(); !viewsEqual(after, viewsBefore) {
		t.Errorf("views changed: %v, were %v", after, viewsBefore)
	}

	// A member without the key is refused before it starts.
	if _, err := StartMember(MemberConfig{Name: "keyless", Role: RoleObserver, Bind: "127.0.9.3", Timing: d}, nil); err == nil {
		t.Error("StartMember without a gossip key started; want an error")
	}
}

func viewsEqual(a, b Views) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]string) bool { return maps.Equal(x, y) })
}
