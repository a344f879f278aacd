package entry

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// An agent member that dies (shut down without a word) is declared dead
// by the controller's failure detector; one that leaves is not; one that
// comes back is alive again.
func TestAgentsClusterTellsADeadAgentFromOneThatLeft(t *testing.T) {
	g, err := NewGossip()
	if err != nil {
		t.Fatal(err)
	}
	d := Timing{Factor: 0.2}.Wall(clock.Real())
	dead, alive := make(chan string, 8), make(chan string, 8)
	ctl, err := StartAgents(AgentsConfig{Bind: "127.0.0.1", Timing: d, Gossip: g,
		OnDead: func(n string) { dead <- n }, OnAlive: func(n string) { alive <- n }})
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()

	join := func(name string, port int) *AgentMember {
		t.Helper()
		m, err := JoinAgents(AgentMemberConfig{Name: name, Bind: "127.0.0.1", Port: port, Timing: d, Gossip: g}, ctl.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Kill() })
		return m
	}
	a, b := join("us-east-1a", 0), join("us-east-1b", 0)
	for _, want := range []string{"us-east-1a", "us-east-1b"} {
		select {
		case n := <-alive:
			if n != "us-east-1a" && n != "us-east-1b" {
				t.Fatalf("OnAlive(%q)", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("OnAlive for %s not called within 10 s", want)
		}
	}
	if got := ctl.Alive(); len(got) != 2 || !got["us-east-1a"] || !got["us-east-1b"] {
		t.Fatalf("Alive = %v", got)
	}

	// Another run's key cannot join.
	other, _ := NewGossip()
	if m, err := JoinAgents(AgentMemberConfig{Name: "intruder", Bind: "127.0.0.1", Timing: d, Gossip: other}, ctl.Addr()); err == nil {
		m.Kill()
		t.Error("a member with another run's gossip key joined")
	}

	if err := b.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the controller sees us-east-1b leave", func() bool { return !ctl.Alive()["us-east-1b"] })

	aPort := portOf(t, a.Addr())
	start := time.Now()
	if err := a.Kill(); err != nil {
		t.Fatal(err)
	}
	limit := 2 * d.MaxDetection()
	select {
	case n := <-dead:
		if n != "us-east-1a" {
			t.Fatalf("OnDead(%q), want us-east-1a (us-east-1b left, it did not die)", n)
		}
		t.Logf("us-east-1a declared dead %s after it stopped (memberlist's least %s, most %s)", time.Since(start).Round(time.Millisecond), d.MinDetection(), d.MaxDetection())
	case <-time.After(limit):
		t.Fatalf("a dead agent not declared dead within %s", limit)
	}
	select {
	case n := <-dead:
		t.Fatalf("OnDead(%q) again", n)
	default:
	}

	join("us-east-1a", aPort) // the agent's host is back, on its port
	select {
	case n := <-alive:
		if n != "us-east-1a" {
			t.Fatalf("OnAlive(%q), want us-east-1a again", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an agent back after its death not alive again within 10 s")
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}
