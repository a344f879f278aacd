package stack

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestZonesWithAgents reads zones: with an agent on some zones: the names
// go to Zones, as availability_zones', the agents to ZoneAgents; a zone
// without agent runs on this host.
func TestZonesWithAgents(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group+`zones:
  - {name: us-east-1a}
  - {name: us-east-1b, agent: 169.254.1.250:7450}
  - name: us-east-1c
    agent: zone-c.example:7450
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"us-east-1a", "us-east-1b", "us-east-1c"}; !reflect.DeepEqual(s.Zones, want) {
		t.Errorf("Zones = %v, want %v", s.Zones, want)
	}
	want := map[string]string{"us-east-1b": "169.254.1.250:7450", "us-east-1c": "zone-c.example:7450"}
	if !reflect.DeepEqual(s.ZoneAgents, want) {
		t.Errorf("ZoneAgents = %v, want %v", s.ZoneAgents, want)
	}
	if !s.HasAgents() || s.ZoneAgent("us-east-1a") != "" || s.ZoneAgent("us-east-1b") != "169.254.1.250:7450" {
		t.Errorf("HasAgents %v, ZoneAgent(a) %q, ZoneAgent(b) %q", s.HasAgents(), s.ZoneAgent("us-east-1a"), s.ZoneAgent("us-east-1b"))
	}
}

// TestZonesWithoutAgents: zones: without any agent is the same stack as
// availability_zones with those names.
func TestZonesWithoutAgents(t *testing.T) {
	a, err := Parse("s.yaml", []byte(head+group+"zones: [{name: us-west-2a}, {name: us-west-2b}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("s.yaml", []byte(head+group+"availability_zones: [us-west-2a, us-west-2b]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Zones, b.Zones) || a.ZoneAgents != nil || a.HasAgents() {
		t.Errorf("zones: %v agents %v; availability_zones: %v", a.Zones, a.ZoneAgents, b.Zones)
	}
}

// TestZonesDockerAllowed: agent zones do not care which runtime the launch
// template names (an image runs on the agent's own engine).
func TestZonesDockerAllowed(t *testing.T) {
	src := "name: web\ntarget_group: {port: 8080}\nlaunch_template: {image: nginx:1}\n" + group +
		"zones: [{name: a1}, {name: b1, agent: 10.0.0.2:7450}]\n"
	if _, err := Parse("s.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// TestBadZones: every problem of zones: is reported at once, each at its
// value, naming the field, the value and what is allowed.
func TestBadZones(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"both lists", head + group + "availability_zones: [a1, b1]\nzones: [{name: a1}, {name: b1}]\n",
			[]string{`s.yaml:6:8: zones: given with availability_zones; use one: availability_zones (every zone on this host) or zones (each zone's name and, optionally, the agent that runs it)`}},
		{"not host:port", head + group + "zones: [{name: a1}, {name: b1, agent: 169.254.1.250}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "169.254.1.250" is not host:port; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"port out of range", head + group + "zones: [{name: a1}, {name: b1, agent: \"h1:70000\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "h1:70000" has port 70000, not one of 1-65535; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"port zero", head + group + "zones: [{name: a1}, {name: b1, agent: \"h1:0\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "h1:0" has port 0, not one of 1-65535; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"port not a number", head + group + "zones: [{name: a1}, {name: b1, agent: \"h1:http\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "h1:http" has no port number; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"bad host", head + group + "zones: [{name: a1}, {name: b1, agent: \"zone_b!:7450\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "zone_b!:7450" has a host that is neither an IP address nor a DNS name; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"no host", head + group + "zones: [{name: a1}, {name: b1, agent: \":7450\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: ":7450" has no host; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"unspecified address", head + group + "zones: [{name: a1}, {name: b1, agent: \"0.0.0.0:7450\"}]\n",
			[]string{`s.yaml:5:39: zones[1].agent: "0.0.0.0:7450" is not an address an agent can be reached at; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)`}},
		{"two zones on one agent", head + group + `zones:
  - {name: a1, agent: "Zone-B.example:7450"}
  - {name: b1, agent: "zone-b.example:7450"}
  - {name: c1, agent: "[::ffff:10.0.0.3]:7450"}
  - {name: d1, agent: "10.0.0.3:7450"}
`, []string{
			`s.yaml:7:23: zones[1].agent: zone-b.example:7450 is already the agent of zones[0] (a1); each zone runs on a host of its own, with an agent of its own`,
			`s.yaml:9:23: zones[3].agent: 10.0.0.3:7450 is already the agent of zones[2] (c1); each zone runs on a host of its own, with an agent of its own`,
		}},
		{"duplicate and missing names", head + group + `zones:
  - {name: a1}
  - {name: a1, agent: "10.0.0.2:7450"}
  - {agent: "10.0.0.3:7450"}
  - {name: b1, agnet: "10.0.0.4:7450"}
  - us-east-1c
`, []string{
			`s.yaml:7:12: zones[1].name: a1 is listed twice; zone names must be unique`,
			`s.yaml:8:5: zones[2].name: missing; name the zone, as in {name: us-east-1a, agent: 169.254.1.250:7450} (agent optional)`,
			`s.yaml:9:16: zones[3].agnet: unknown key; did you mean agent?`,
			`s.yaml:10:5: zones[4]: want a mapping (key: value), got "us-east-1c"`,
		}},
		{"one zone", head + group + "zones: [{name: a1, agent: \"10.0.0.2:7450\"}]\n",
			[]string{`s.yaml:5:8: zones: 1 zone(s) given; an ALB needs at least 2`}},
		{"not a list", head + group + "zones: {name: a1}\n",
			[]string{`s.yaml:5:8: zones: want a list, got a mapping`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(c.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: got %v, want *Errors", err)
			}
			if got, want := err.Error(), strings.Join(c.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestDatabaseWithLocalZones: zones: without agents keeps the data tier.
func TestDatabaseWithLocalZones(t *testing.T) {
	s, err := Parse("s.yaml", []byte(head+group+`zones: [{name: us-east-1a}, {name: us-east-1b}]
database: {engine: postgres, db_instance_class: db.t3.micro}
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"us-east-1a", "us-east-1b"}; !reflect.DeepEqual(s.Database.SubnetGroupZones, want) {
		t.Errorf("DB subnet group %v, want %v (the zones' names)", s.Database.SubnetGroupZones, want)
	}
}

// A data tier with zones on agents parses: the instances there reach its
// endpoints through the controller's address toward them (lab/database.go).
func TestZonesOnAgentsWithDatabase(t *testing.T) {
	st, err := Parse("s.yaml", []byte(head+group+`zones: [{name: a1}, {name: b1, agent: "10.0.0.2:7450"}]
database: {engine: postgres, db_instance_class: db.t3.micro}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !st.HasAgents() || st.Database == nil {
		t.Fatalf("agents %v, database %v", st.HasAgents(), st.Database)
	}
}
