package tui

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// TestViewShowsNodeStatesAndDifferingViews: each zone's node says whether
// it is up, failing open and handed out by DNS; a target the nodes' gossiped
// views disagree on is marked with every node's state, in the wide and the
// narrow layout alike.
func TestViewShowsNodeStatesAndDifferingViews(t *testing.T) {
	s := fixture()
	s.Zones[1].Node = Node{Addr: "127.0.2.1:18491", Healthy: 2, Unhealthy: 1, Down: true, DNS: DNSIn} // failed; the detector has yet to act
	s.Zones[2].Node = Node{Addr: "127.0.3.1:18491", Healthy: 0, Unhealthy: 2, FailOpen: true, DNS: DNSOut}
	s.Zones[2].Instances[1].Views = map[string]string{"us-east-1a": "healthy", "us-east-1c": "initial", "us-east-1b": ""}
	for _, c := range []struct {
		w, h int
		want []string
	}{
		{160, 48, []string{
			"sees ●2 ✗1 · in DNS",
			"down, not checking · still in DNS",
			"sees ●0 ✗2 fail open · out of DNS",
			"views differ: 1a 1c healthy, 1b unhealthy",
			"views differ: 1a healthy, 1c initial, 1b no view",
		}},
		{80, 24, []string{
			"nodes  1a ●2 ✗1 in DNS │ 1b down still in DNS │ 1c ●0 ✗2 fail open out of DNS",
			"views differ: 1a 1c healthy, 1b unhealthy",
			"views differ: 1a healthy, 1c initial, 1b no view",
		}},
	} {
		v := step(newModel(c.w, c.h), s).View()
		checkSize(t, v, c.w, c.h)
		for _, want := range c.want {
			if !strings.Contains(v, want) {
				t.Errorf("%dx%d lacks %q:\n%s", c.w, c.h, want, v)
			}
		}
	}
	// The node states and views go through the live socket's JSON as they are.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Zones[1].Node != s.Zones[1].Node || back.Zones[2].Node != s.Zones[2].Node ||
		!maps.Equal(back.Zones[2].Instances[1].Views, s.Zones[2].Instances[1].Views) || back.Zones[0].Instances[0].Views != nil {
		t.Errorf("through JSON: %+v %+v", back.Zones[1].Node, back.Zones[2].Instances[1].Views)
	}
}
