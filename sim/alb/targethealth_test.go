package alb

import "testing"

func TestFoldHealth(t *testing.T) {
	h := func(states ...State) map[string]Health {
		m := map[string]Health{}
		for i, s := range states {
			m[string(rune('a'+i))] = Health{State: s}
		}
		return m
	}
	cases := []struct {
		views map[string]Health
		want  State
	}{
		{h(), StateUnused},
		{h(StateUnhealthy, StateHealthy, StateUnhealthy), StateHealthy}, // any node routes to it
		{h(StateUnhealthy, StateUnhealthy), StateUnhealthy},             // every node marked it
		{h(StateUnhealthy, StateInitial), StateInitial},
		{h(StateInitial, StateInitial), StateInitial},
		{h(StateDraining), StateDraining},
	}
	for _, c := range cases {
		if got := FoldHealth(c.views); got != c.want {
			t.Errorf("FoldHealth(%v) = %s, want %s", c.views, got, c.want)
		}
	}
}
