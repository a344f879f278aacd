package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/stack"
)

func TestBuiltins(t *testing.T) {
	want := []string{"az-outage", "bad-deploy", "blue-green", "db-connections", "db-failover", "flash-sale", "flash-sale-10k", "gray-failure", "instance-kill", "latency-spike", "maintenance-reboot", "monkey", "read-heavy-sale", "read-replicas", "replica-promotion", "rolling-deploy", "services", "single-az-db", "single-server", "stateless", "stateless-db", "stateless-sticky"}
	if got := BuiltinNames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("BuiltinNames() = %v, want %v", got, want)
	}
	for _, name := range want {
		s, err := Builtin(name)
		if err != nil {
			t.Errorf("Builtin(%s): %v", name, err)
			continue
		}
		if s.Name != name || s.File != "builtin/"+name+".yaml" || len(s.Source) == 0 {
			t.Errorf("%s: Name %q, File %q, len(Source) %d", name, s.Name, s.File, len(s.Source))
		}
		if d := Describe(name); d == "" || d != s.Description || strings.Contains(d, "\n") {
			t.Errorf("Describe(%s) = %q", name, d)
		}
		st, err := s.ResolveStack()
		if err != nil || st.Name != s.Stack {
			t.Errorf("%s: ResolveStack() = %v, %v", name, st, err)
		}
		// Three wall minutes at most at the scenario's speed: a demo, not a
		// wait; the seeds' 10,000-user sale is sized to the host instead and
		// may take ten (see its file).
		limit := 3 * time.Minute
		if name == "flash-sale-10k" {
			limit = 10 * time.Minute
		}
		if wall := time.Duration(float64(s.TotalDuration()) / s.Speed); wall > limit {
			t.Errorf("%s lasts %v of wall time", name, wall)
		}
	}
	if Describe("nope") != "" {
		t.Error(`Describe("nope") is not empty`)
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "built-ins are az-outage, bad-deploy, blue-green, db-connections, db-failover, flash-sale, flash-sale-10k, gray-failure, instance-kill, latency-spike, maintenance-reboot, monkey, read-heavy-sale, read-replicas, replica-promotion, rolling-deploy, services, single-az-db, single-server, stateless, stateless-db, stateless-sticky") {
		t.Errorf("Builtin(nope) error = %v", err)
	}
}

// TestFlashSale pins the story the headline scenario tells.
func TestFlashSale(t *testing.T) {
	s, err := Builtin("flash-sale")
	if err != nil {
		t.Fatal(err)
	}
	if s.TotalDuration() != 26*time.Minute || s.Speed != 10 {
		t.Errorf("TotalDuration %v at speed %v, want 26m at 10", s.TotalDuration(), s.Speed)
	}
	var peakStart, peakEnd time.Duration
	for _, p := range s.Load.Phases {
		if p.Name == "peak" {
			peakEnd = peakStart + p.Duration
			break
		}
		peakStart += p.Duration
	}
	if len(s.Chaos) != 2 || s.Chaos[0].Action != chaos.KillInstance || s.Chaos[1].Action != chaos.AZOutage {
		t.Fatalf("chaos %+v, want a kill-instance and an az-outage", s.Chaos)
	}
	for _, a := range s.Chaos {
		if a.At <= peakStart || a.At+a.Duration > peakEnd {
			t.Errorf("%s at %v for %v is not inside the peak (%v-%v)", a.Action, a.At, a.Duration, peakStart, peakEnd)
		}
	}
	var exprs []string
	for _, slo := range s.SLOs {
		exprs = append(exprs, slo.Expr)
	}
	if want := []string{"success_rate >= 99%", "p99 <= 2s", "max_in_service <= 7", "lost_writes == 0"}; !reflect.DeepEqual(exprs, want) {
		t.Errorf("SLOs %v, want %v", exprs, want)
	}
}

func TestDefaultsAndTotalDuration(t *testing.T) {
	s, err := Parse("s.yaml", []byte(top+phases+slos))
	if err != nil {
		t.Fatal(err)
	}
	if s.Speed != 10 || s.Seed != 1 || s.MaxLag != 250*time.Millisecond || s.Load.Mix != (Mix{List: 50, Create: 20, Get: 20, Done: 10}) {
		t.Errorf("defaults: speed %v seed %v max_lag %v mix %+v", s.Speed, s.Seed, s.MaxLag, s.Load.Mix)
	}
	want := []Phase{{Name: "calm", Duration: 5 * time.Minute, From: 20, To: 20}, {Name: "rise", Duration: 5 * time.Minute, From: 20, To: 100}}
	if !reflect.DeepEqual(s.Load.Phases, want) {
		t.Errorf("phases %+v, want %+v", s.Load.Phases, want)
	}
	if got := s.TotalDuration(); got != 10*time.Minute {
		t.Errorf("TotalDuration() = %v, want 10m", got)
	}
	if got := s.Load.Phases[1].RateAt(150 * time.Second); got != 60 {
		t.Errorf("RateAt(2m30s) = %v, want 60", got)
	}

	src := top + "seed: 18446744073709551615\nload:\n  mix: {create: 1}\n  phases:\n    - {duration: 90, rate: 5}\n    - {duration: 1500ms, rate: 5}\n" + slos
	s, err = Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 1<<64-1 || s.Load.Mix != (Mix{Create: 1}) || s.Load.Phases[0].Name != "phase-1" {
		t.Errorf("seed %v mix %+v name %q", s.Seed, s.Load.Mix, s.Load.Phases[0].Name)
	}
	if got := s.TotalDuration(); got != 91500*time.Millisecond {
		t.Errorf("TotalDuration() = %v, want 1m31.5s", got)
	}
	if got := (&Scenario{}).TotalDuration(); got != 0 {
		t.Errorf("empty TotalDuration() = %v", got)
	}
}

// stackFile is a valid two-zone stack.
const stackFile = `name: web
availability_zones: [eu-west-1a, eu-west-1b]
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
`

func TestResolveStackRelativePath(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	write("scenarios/stacks/web.yaml", stackFile)
	write("scenarios/stacks/bad.yaml", "name: web\n")
	scen := write("scenarios/sale.yaml", "name: sale\nstack: stacks/web.yaml\n"+phases+slos+
		"chaos: [{at: 1m, action: kill-instance, zone: eu-west-1b}]\n")

	s, err := Resolve(scen)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	st, err := s.ResolveStack()
	if err != nil || st.Name != "web" || st.File != filepath.Join(dir, "scenarios/stacks/web.yaml") {
		t.Fatalf("ResolveStack() = %v, %v", st, err)
	}

	// The zone is checked against the stack the path names.
	bad := strings.Replace(string(s.Source), "eu-west-1b", "us-east-1a", 1)
	_, err = Parse(scen, []byte(bad))
	if want := scen + `:8:47: chaos[0].zone: "us-east-1a" is not a zone of stack stacks/web.yaml; use one of eu-west-1a, eu-west-1b`; err == nil || err.Error() != want {
		t.Errorf("zone error:\n%v\nwant:\n%s", err, want)
	}

	// A missing stack is reported at the scenario's stack: line, by ResolveStack.
	s, err = Parse(scen, []byte("name: sale\nstack: nope.yaml\n"+phases+slos))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ResolveStack()
	want := scen + `:2:8: stack: "nope.yaml" is not a built-in stack (db-connections, multi-az, read-replicas, services, simplydone, simplydone-bluegreen, simplydone-deploy, simplydone-peak, simplydone-peak-multi-az, simplydone-stateless, simplydone-sticky, single-az-db, single-server) and there is no file ` + filepath.Join(dir, "scenarios/nope.yaml")
	if err == nil || err.Error() != want {
		t.Errorf("missing stack:\n%v\nwant:\n%s", err, want)
	}

	// A stack that does not validate: our line first, then its own errors.
	s.Stack = "stacks/bad.yaml"
	_, err = s.ResolveStack()
	var errs *stack.Errors
	if err == nil || !errors.As(err, &errs) || !strings.HasPrefix(err.Error(), scen+":2:8: stack: the stack file "+filepath.Join(dir, "scenarios/stacks/bad.yaml")+" is not valid (4 problem(s) below)\n") {
		t.Errorf("bad stack: %v", err)
	}
}

func TestResolve(t *testing.T) {
	if s, err := Resolve("flash-sale"); err != nil || s.Name != "flash-sale" {
		t.Errorf("Resolve(flash-sale) = %v, %v", s, err)
	}
	_, err := Resolve(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "not a built-in (az-outage, bad-deploy, blue-green, db-connections, db-failover, flash-sale, flash-sale-10k, gray-failure, instance-kill, latency-spike, maintenance-reboot, monkey, read-heavy-sale, read-replicas, replica-promotion, rolling-deploy, services, single-az-db, single-server, stateless, stateless-db, stateless-sticky) and no such file") {
		t.Errorf("Resolve(missing) error = %v", err)
	}
}
