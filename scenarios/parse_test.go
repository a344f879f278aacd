package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

// top is the start of a valid scenario (lines 1-2); cases add the rest.
const top = "name: t\nstack: simplydone\n"

// phases is a valid load (lines 3-6), 10 AWS minutes long.
const phases = `load:
  phases:
    - {name: calm, duration: 5m, rate: 20}
    - {name: rise, duration: 5m, from: 20, to: 100}
`

const slos = "slos: [success_rate >= 99%]\n"

func TestBadScenarios(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty file", "", []string{`s.yaml: the file is empty; a scenario needs at least name, stack, load.phases and slos`}},
		{"unknown key with hint", top + phases + slos + "stop_condition: [success_rate < 50%]\n",
			[]string{`s.yaml:8:1: stop_condition: unknown key; did you mean stop_conditions?`}},
		{"unknown key in a phase", top + "load:\n  phases:\n    - {name: calm, duraton: 5m, rate: 20}\n" + slos,
			[]string{
				`s.yaml:5:7: load.phases[0].duration: missing; give how long the phase lasts in AWS time, such as 5m`,
				`s.yaml:5:20: load.phases[0].duraton: unknown key; did you mean duration?`,
			}},
		{"missing everything", "description: nothing\n", []string{
			`s.yaml:1:1: name: missing; name the scenario (letters, digits, '.', '_' and '-')`,
			`s.yaml:1:1: stack: missing; give a built-in stack (db-connections, multi-az, read-replicas, services, simplydone, simplydone-bluegreen, simplydone-deploy, simplydone-peak, simplydone-peak-multi-az, simplydone-stateless, simplydone-sticky, single-az-db, single-server) or the path of a stack file`,
			`s.yaml:1:1: load.phases: missing; give at least one phase, such as {name: calm, duration: 5m, rate: 20}`,
			`s.yaml:1:1: slos: missing; give at least one SLO, such as success_rate >= 99%`,
		}},
		{"empty phases", top + "load: {phases: []}\n" + slos,
			[]string{`s.yaml:3:16: load.phases: empty; give at least one phase, such as {name: calm, duration: 5m, rate: 20}`}},
		{"zero duration", top + "load:\n  phases:\n    - {name: calm, duration: 0, rate: 20}\n" + slos,
			[]string{`s.yaml:5:30: load.phases[0].duration: 0s is not above 0; give how long the phase lasts in AWS time, such as 5m`}},
		{"bad duration", top + "load:\n  phases:\n    - {name: calm, duration: soon, rate: 20}\n" + slos,
			[]string{`s.yaml:5:30: load.phases[0].duration: "soon" is not a duration; use seconds (30) or a duration such as 30s or 5m`}},
		{"rate and ramp", top + "load:\n  phases:\n    - {name: calm, duration: 5m, rate: 20, from: 1, to: 2}\n" + slos,
			[]string{`s.yaml:5:50: load.phases[0].from: given with rate; use rate (a steady phase) or from and to (a ramp)`}},
		{"no rate", top + "load:\n  phases:\n    - {name: calm, duration: 5m}\n" + slos,
			[]string{`s.yaml:5:7: load.phases[0].rate: missing; give rate (a steady phase) or from and to (a ramp), in requests per wall second`}},
		{"half a ramp", top + "load:\n  phases:\n    - {name: rise, duration: 5m, from: 1}\n" + slos,
			[]string{`s.yaml:5:7: load.phases[0].to: missing; a ramp needs from and to`}},
		{"rate out of range", top + "load:\n  phases:\n    - {duration: 5m, rate: -1}\n    - {duration: 5m, from: 0, to: 200000}\n" + slos,
			[]string{
				`s.yaml:5:28: load.phases[0].rate: -1 is not allowed; use 0 to 100000 requests per wall second`,
				`s.yaml:6:35: load.phases[1].to: 200000 is not allowed; use 0 to 100000 requests per wall second`,
			}},
		{"duplicate phase name", top + "load:\n  phases:\n    - {name: a, duration: 5m, rate: 1}\n    - {name: a, duration: 5m, rate: 1}\n" + slos,
			[]string{`s.yaml:6:14: load.phases[1].name: a is already the name of load.phases[0]; phase names must be unique`}},
		{"mix all zero", top + "load:\n  mix: {list: 0}\n  phases: [{duration: 5m, rate: 1}]\n" + slos,
			[]string{`s.yaml:4:8: load.mix: all weights are 0; give at least one of list, create, get, done, cart, add_to_cart a weight above 0`}},
		{"client not known", top + "load:\n  client: sticky\n  phases: [{duration: 5m, rate: 1}]\n" + slos,
			[]string{`s.yaml:4:11: load.client: "sticky" is not allowed; use one of next-address, one-address ` +
				`(next-address: a connection refused or timed out is tried on the next address, as Go's dialer, browsers and curl do; ` +
				`one-address: no retry, a dead cached address fails until the DNS TTL ends)`}},
		{"negative weight", top + "load:\n  mix: {list: 1, done: -1}\n  phases: [{duration: 5m, rate: 1}]\n" + slos,
			[]string{`s.yaml:4:24: load.mix.done: -1 is negative; weights are 0 or more`}},
		{"speed out of range", top + "speed: 5000\n" + phases + slos,
			[]string{`s.yaml:3:8: speed: 5000 is not allowed; use 1 to 1000 (AWS seconds per wall second)`}},
		{"bad seed", top + "seed: -3\n" + phases + slos,
			[]string{`s.yaml:3:7: seed: "-3" is not a seed; use a whole number 0 or more`}},
		{"zero max lag", top + "max_lag: 0s\n" + phases + slos,
			[]string{`s.yaml:3:10: max_lag: 0s is not above 0; give the wall-time lag the load generator may have at p99, such as 250ms`}},
		{"bad name", "name: flash sale\nstack: simplydone\n" + phases + slos,
			[]string{`s.yaml:1:7: name: "flash sale" is not a valid name; use 1-64 letters, digits, '.', '_' and '-', starting with a letter or digit`}},
		{"chaos after the end", top + phases + slos + "chaos: [{at: 10m, action: kill-instance}]\n",
			[]string{`s.yaml:8:14: chaos[0].at: 10m is not before the end of the load (10m); chaos must happen while the load runs`}},
		{"chaos action typo", top + phases + slos + "chaos: [{at: 1m, action: kill_instance}]\n",
			[]string{`s.yaml:8:26: chaos[0].action: "kill_instance" is not allowed; use one of kill-instance, stop-instance, pause-instance, http-error, latency, bandwidth, connection-reset, connection-timeout, az-outage, az-partition, cpu-hog, store-outage, kill-lb-node, monkey, db-failover, kill-db, replica-lag, db-connections, repoint-database; did you mean kill-instance?`}},
		{"stop without duration", top + phases + slos + "chaos: [{at: 1m, action: stop-instance}]\n",
			[]string{`s.yaml:8:9: chaos[0].duration: missing; stop-instance needs how long the instance stays stopped, such as 3m`}},
		{"kill with duration", top + phases + slos + "chaos: [{at: 1m, action: kill-instance, duration: 3m}]\n",
			[]string{`s.yaml:8:51: chaos[0].duration: not allowed with kill-instance (a killed instance does not come back); remove it, or use stop-instance`}},
		{"zone not in the stack", top + phases + slos + "chaos: [{at: 1m, action: kill-instance, zone: eu-west-1a}]\n",
			[]string{`s.yaml:8:47: chaos[0].zone: "eu-west-1a" is not a zone of stack simplydone; use one of us-east-1a, us-east-1b, us-east-1c`}},
		{"empty slos", top + phases + "slos: []\n",
			[]string{`s.yaml:7:7: slos: empty; give at least one SLO, such as success_rate >= 99%`}},
		{"slo with a mapping", top + phases + "slos:\n  - p99: 500ms\n",
			[]string{`s.yaml:8:5: slos[0]: want an expression such as p99 <= 500ms, got a mapping`}},
		{"slo with a wrong unit", top + phases + "slos: [p99 <= 5%]\n",
			[]string{`s.yaml:7:8: slos[0]: "%" is not a unit for p99; it is a latency: use ms or s, as in p99 <= 500ms`}},
		{"lost writes cannot stop a run", top + phases + slos + "stop_conditions: [lost_writes > 0]\n",
			[]string{`s.yaml:8:19: stop_conditions[0]: lost_writes is counted at the end of the run, so it cannot stop a run early; use it in slos`}},
		{"YAML syntax", top + "load: [\n", []string{`s.yaml:3: YAML syntax: did not find expected node content`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *stack.Errors // the same type as yamlcheck.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got %v, want *Errors", err)
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestEveryProblemReported checks that one file with problems in every
// section reports them all, sorted by line.
func TestEveryProblemReported(t *testing.T) {
	src := `name: t
stack: simplydone
speed: 0.5
load:
  mix: {list: 1, post: 2}
  phases:
    - {name: calm, duration: -1m, rate: 20}
chaos:
  - {at: 1m, action: stop-instance, duration: 0}
  - {action: reboot}
slos:
  - p99 => 500ms
  - success_rate >= 99
`
	want := []string{
		`s.yaml:3:8: speed: 0.5 is not allowed; use 1 to 1000 (AWS seconds per wall second)`,
		`s.yaml:5:18: load.mix.post: unknown key; did you mean list?`,
		`s.yaml:7:30: load.phases[0].duration: -1m is not above 0; give how long the phase lasts in AWS time, such as 5m`,
		`s.yaml:9:47: chaos[0].duration: 0s is not above 0; give how long the instance stays stopped, such as 3m`,
		`s.yaml:10:5: chaos[1].at: missing; give when the action happens, in AWS time from the start of the load, such as 10m`,
		`s.yaml:10:14: chaos[1].action: "reboot" is not allowed; use one of kill-instance, stop-instance, pause-instance, http-error, latency, bandwidth, connection-reset, connection-timeout, az-outage, az-partition, cpu-hog, store-outage, kill-lb-node, monkey, db-failover, kill-db, replica-lag, db-connections, repoint-database`,
		`s.yaml:12:5: slos[0]: "=>" is not an operator; use one of >= > <= < ==; did you mean >=?`,
		`s.yaml:13:5: slos[1]: 99 has no unit; success_rate is a percentage: write 99%`,
	}
	_, err := Parse("s.yaml", []byte(src))
	var errs *stack.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse: got %v, want *Errors", err)
	}
	if len(errs.List) != len(want) {
		t.Errorf("got %d errors, want %d", len(errs.List), len(want))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestLoadClient: the load generator's clients try the next address unless
// the scenario asks for one-address.
func TestLoadClient(t *testing.T) {
	s, err := Parse("s.yaml", []byte(top+phases+slos))
	if err != nil || s.Load.Client != "next-address" {
		t.Fatalf("default: %q, %v; want next-address", s.Load.Client, err)
	}
	s, err = Parse("s.yaml", []byte(top+"load:\n  client: one-address\n  phases: [{duration: 5m, rate: 1}]\n"+slos))
	if err != nil || s.Load.Client != "one-address" {
		t.Fatalf("one-address: %q, %v", s.Load.Client, err)
	}
}
