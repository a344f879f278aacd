package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/load"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/agent"
	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
	"github.com/simplydone/lab/sim/entry"
	"github.com/simplydone/lab/stack"
)

// realAgent starts a real lab agent (sim/agent, as `lab agent` runs it:
// process runtime, the agents' cluster, the zone's load balancer node, load shares resolving through the
// controller's DNS) on ip, its zone's subnet ip's /24, and returns its
// address. It is closed when the test ends.
func realAgent(t *testing.T, ip string, tok []byte) string {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	state := t.TempDir()
	s, err := agent.NewServer(agent.Config{Token: tok, Subnet: netip.MustParsePrefix(ip + "/24").Masked(), Dir: t.TempDir(), Logger: quiet,
		NewRuntime: func(_ context.Context, runID, driver, dir string) (az.Runtime, error) {
			return process.New(process.Options{RunID: runID, StateDir: state, LogDir: filepath.Join(dir, "logs"), Logger: quiet, Grace: 2 * time.Second})
		},
		Join: func(_ context.Context, j agent.JoinSpec) (func() error, error) {
			d := entry.Timing{}.Wall(clock.Real())
			if err := json.Unmarshal(j.Timing, &d); err != nil {
				return nil, err
			}
			m, err := entry.JoinAgents(entry.AgentMemberConfig{Name: j.Name, Bind: ip, Timing: d, Gossip: entry.Gossip{Key: j.Key, Label: j.Label}, Logger: quiet}, j.Controller)
			if err != nil {
				return nil, err
			}
			return func() error { return m.Leave(2 * time.Second) }, nil
		},
		NewNode: AgentNodeFactory(quiet), // the zone's load balancer node, as `lab agent` serves it
		LoadDial: func(dns, name, client string) func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&entry.Dialer{Resolver: entry.NewResolver(dns, nil), Name: name, Client: client}).DialContext
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("agent %s close: %v", ip, err)
		}
		if err := <-served; err != nil {
			t.Errorf("agent %s: %v", ip, err)
		}
	})
	return ln.Addr().String()
}

// TestLoadFromTheControllerAndAnAgent runs a short sale on a stack of two
// zones, each on a real agent on loopback (127.0.101.250, 127.0.102.250),
// with load.generators [controller, us-east-1b]: the controller and zone
// b's agent each send half. The summary's requests are the sum of the two
// generators' and its latency quantiles are those of the merged raw
// results (kept in the run directory), the verdict judged on them.
func TestLoadFromTheControllerAndAnAgent(t *testing.T) {
	tok, err := agent.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	a, b := realAgent(t, "127.0.101.250", tok), realAgent(t, "127.0.102.250", tok)
	src := fmt.Sprintf(`name: itest
zones:
  - {name: us-east-1a, agent: %q}
  - {name: us-east-1b, agent: %q}
load_balancer:
  listener: {port: 18617}
target_group:
  port: 18617
  deregistration_delay: 0
  health_check: {path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [%q]
  instance_type: t3.micro
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`, a, b, simplydone)
	st, err := stack.Parse("itest.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse("split.yaml", []byte("name: split\nstack: simplydone\nspeed: 20\nseed: 11\nload:\n  phases: [{name: steady, duration: 2m, rate: 40}]\nslos: [success_rate >= 99%, p99 < 1s]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Load.Generators = []string{scenarios.Controller, "us-east-1b"} // validated against this stack by Run
	runs := t.TempDir()
	sum, err := Run(context.Background(), RunOptions{Scenario: sc, Stack: st, Driver: DriverProcess, RunsDir: runs, StateDir: t.TempDir(), AgentToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	var b2 strings.Builder
	sum.WriteText(&b2)
	t.Logf("summary:\n%s", b2.String())
	if sum.Verdict != Pass {
		t.Errorf("verdict %s: %s", sum.Verdict, sum.Reason)
	}
	if len(sum.LoadGenerators) != 2 || sum.LoadGenerators[0].Name != scenarios.Controller || sum.LoadGenerators[1].Name != "us-east-1b" {
		t.Fatalf("load generators %+v, want the controller and us-east-1b", sum.LoadGenerators)
	}
	total := 0
	for _, g := range sum.LoadGenerators {
		if g.Requests < 100 || g.Error != "" { // 6 s wall at 20/s each
			t.Errorf("generator %s sent %d requests (error %q), want about 120", g.Name, g.Requests, g.Error)
		}
		total += g.Requests
	}
	if sum.Requests != total {
		t.Errorf("the summary counts %d requests, the generators %d", sum.Requests, total)
	}
	if !strings.Contains(b2.String(), fmt.Sprintf("load from 2 generators (requests: controller %d, us-east-1b %d)", sum.LoadGenerators[0].Requests, sum.LoadGenerators[1].Requests)) {
		t.Error("the summary's text does not say the generators and their requests")
	}

	// The run's quantiles are the merged histogram's, from the raw results
	// each generator kept.
	var parts []*load.Raw
	for _, g := range sum.LoadGenerators {
		data, err := os.ReadFile(filepath.Join(runs, sum.RunID, "load-"+g.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var raw load.Raw
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Requests() != g.Requests {
			t.Errorf("%s's raw results hold %d requests, the summary says %d", g.Name, raw.Requests(), g.Requests)
		}
		parts = append(parts, &raw)
	}
	m, err := load.Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	res := m.Result()
	if sum.Latency.P99 != ms(res.P99) || sum.Latency.P50 != ms(res.P50) || sum.Latency.Max != ms(res.Max) {
		t.Errorf("summary latency %+v, the merged histogram's p50 %s p99 %s max %s", sum.Latency, res.P50, res.P99, res.Max)
	}
	if p := sum.SLOs[1]; p.Observed != ms(res.P99) {
		t.Errorf("the p99 SLO observed %v, the merged histogram's p99 is %v", p.Observed, ms(res.P99))
	}

	// seconds.jsonl, written live from the controller's share, holds the
	// merged seconds once the load ended, with what the controller sampled.
	data, err := os.ReadFile(filepath.Join(runs, sum.RunID, rundir.SecondsFile))
	if err != nil {
		t.Fatal(err)
	}
	sent, withInService := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r SecondRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		sent += r.Sent
		if len(r.InService) > 0 {
			withInService++
		}
	}
	if sent != sum.Requests || withInService == 0 {
		t.Errorf("seconds.jsonl holds %d requests (the run %d), %d seconds with the instances in service", sent, sum.Requests, withInService)
	}
}
