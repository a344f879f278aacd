package export

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func builtin(t *testing.T) *stack.Stack {
	t.Helper()
	s, err := stack.Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func load(t *testing.T, path string) *stack.Stack {
	t.Helper()
	s, err := stack.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testStack is one export every validation runs on: a stack and the
// options it is exported with.
type testStack struct {
	name string
	s    *stack.Stack
	opts Options
}

// requiredStacks are the stack files the issue asks the validations to
// cover; testStacks fails if one goes missing rather than silently skip it.
var requiredStacks = []string{
	"listener-rules",           // issue 16: every condition type, the three actions, a fixed-response default, stickiness
	"wide",                     // image, health check port, simple + step + target tracking, ALB alarm
	"two-zones-cross-zone-off", // two zones, cross-zone off, least_outstanding_requests, custom health check
	"target-tracking",          // ASGAverageCPUUtilization + ALBRequestCountPerTarget, disable_scale_in
}

// testStacks is the built-in stack and every file in testdata/stacks, each
// exported with a NAT gateway per zone and with --single-nat. Every
// validation (terraform validate and fmt, HCL references, the CloudFormation
// spec and references, round trips, the NAT layout) is table-driven over this
// list, so a new file in testdata/stacks gets every check.
func testStacks(t *testing.T) []testStack {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "stacks", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	found := map[string]bool{}
	bases := []testStack{{name: "builtin", s: builtin(t)}}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".yaml")
		found[name] = true
		bases = append(bases, testStack{name: name, s: load(t, p)})
	}
	for _, name := range requiredStacks {
		if !found[name] {
			t.Fatalf("testdata/stacks/%s.yaml is missing", name)
		}
	}
	var out []testStack
	for _, b := range bases {
		out = append(out, b, testStack{name: b.name + "-single-nat", s: b.s, opts: Options{SingleNAT: true}})
	}
	return out
}

// golden compares got with testdata/golden/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./export/ -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, run go test ./export/ -update\n--- got:\n%s", path, got)
	}
}

func TestGoldenTerraform(t *testing.T) {
	files, err := Terraform(builtin(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
		golden(t, filepath.Join("terraform", n), files[n])
	}
	sort.Strings(names)
	if !*update {
		entries, _ := os.ReadDir(filepath.Join("testdata", "golden", "terraform"))
		if len(entries) != len(names) {
			t.Errorf("golden module has %d files, the export %d (%v)", len(entries), len(names), names)
		}
	}
}

func TestGoldenCloudFormation(t *testing.T) {
	tmpl, err := CloudFormation(builtin(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cloudformation.yaml", tmpl)
}

// Two exports of the same stack are byte for byte the same.
func TestDeterministic(t *testing.T) {
	for _, ts := range testStacks(t) {
		t.Run(ts.name, func(t *testing.T) {
			for range 5 {
				a, _ := Terraform(ts.s, ts.opts)
				b, _ := Terraform(ts.s, ts.opts)
				for n := range a {
					if !bytes.Equal(a[n], b[n]) {
						t.Fatalf("%s differs between two exports", n)
					}
				}
				c, _ := CloudFormation(ts.s, ts.opts)
				d, _ := CloudFormation(ts.s, ts.opts)
				if !bytes.Equal(c, d) {
					t.Fatal("the template differs between two exports")
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	base := builtin(t)
	cases := []struct {
		name   string
		edit   func(s *stack.Stack)
		format Format
		want   []string // field: in the error
	}{
		{"internal name", func(s *stack.Stack) { s.Name = "internal-shop" }, FormatTerraform, []string{"name: "}},
		{"zone not AWS", func(s *stack.Stack) { s.Zones = []string{"zone-a", "us-east-1b"} }, FormatTerraform, []string{"availability_zones[0]: "}},
		{"two regions", func(s *stack.Stack) { s.Zones = []string{"us-east-1a", "eu-west-1b"} }, FormatCloudFormation, []string{"availability_zones[1]: eu-west-1b is in eu-west-1"}},
		{"alarm over a day", func(s *stack.Stack) {
			a := *s.ScalingPolicies[0].Alarm
			a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = 3600e9, 25, 1
			s.ScalingPolicies[0].Alarm = &a
		}, FormatTerraform, []string{"scaling_policies[0].alarm.evaluation_periods: "}},
		{"EC2 alarm at 10s", func(s *stack.Stack) {
			a := *s.ScalingPolicies[1].Alarm
			a.Period = 10e9
			s.ScalingPolicies[1].Alarm = &a
		}, FormatTerraform, []string{"scaling_policies[1].alarm.period: "}},
		{"unknown namespace", func(s *stack.Stack) {
			a := *s.ScalingPolicies[0].Alarm
			a.Namespace = "Custom/App"
			s.ScalingPolicies[0].Alarm = &a
		}, FormatCloudFormation, []string{"scaling_policies[0].alarm.namespace: "}},
		{"user data too big", func(s *stack.Stack) {
			s.LaunchTemplate.Environment = map[string]string{"BIG": strings.Repeat("x", 17000)}
		}, FormatTerraform, []string{"launch_template.environment: "}},
		{"balanced-only in CloudFormation", func(s *stack.Stack) {
			s.AutoScalingGroup.CapacityDistributionStrategy = "balanced-only"
		}, FormatCloudFormation, []string{"auto_scaling_group.capacity_distribution_strategy: "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := *base
			s.ScalingPolicies = append([]stack.ScalingPolicy(nil), base.ScalingPolicies...)
			c.edit(&s)
			var err error
			if c.format == FormatTerraform {
				_, err = Terraform(&s, Options{})
			} else {
				_, err = CloudFormation(&s, Options{})
			}
			if err == nil {
				t.Fatal("exported; want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	// balanced-only is fine for Terraform, which has the setting.
	s := *base
	s.AutoScalingGroup.CapacityDistributionStrategy = "balanced-only"
	if _, err := Terraform(&s, Options{}); err != nil {
		t.Errorf("balanced-only to Terraform: %v", err)
	}
}

// fakeRun writes a run directory as `lab run` leaves it.
func fakeRun(t *testing.T, verdict string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../stack/builtin/simplydone.yaml")
	if err != nil {
		t.Fatal(err)
	}
	summary := `{"run_id": "20261122-033700-flash-sale", "scenario": "flash-sale", "stack": "simplydone", "verdict": "` + verdict + `", "seed": 1}`
	for name, data := range map[string][]byte{"stack.yaml": src, "summary.json": []byte(summary)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadRun(t *testing.T) {
	s, run, err := LoadRun(fakeRun(t, "PASS"))
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != "20261122-033700-flash-sale" || run.Scenario != "flash-sale" || run.Verdict != "PASS" || s.Name != "simplydone" {
		t.Fatalf("run %+v stack %s", run, s.Name)
	}
	files, err := Terraform(s, Options{Run: run, SingleNAT: true})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := CloudFormation(s, Options{Run: run, SingleNAT: true})
	if err != nil {
		t.Fatal(err)
	}
	stamp := "Rehearsed in run 20261122-033700-flash-sale, scenario flash-sale: verdict PASS."
	for _, out := range [][]byte{files["network.tf"], files["README.md"], tmpl} {
		if !bytes.Contains(out, []byte(stamp)) {
			t.Errorf("no run stamp in:\n%.300s", out)
		}
	}
	if _, _, err := LoadRun(t.TempDir()); err == nil {
		t.Error("an empty directory loaded as a run")
	}
}

// The NAT layout of every export: --single-nat makes one EIP and NAT
// gateway, in the first zone, and every private route goes through it;
// without it each zone has its own.
func TestNATLayout(t *testing.T) {
	for _, ts := range testStacks(t) {
		t.Run(ts.name, func(t *testing.T) {
			zones := ts.s.Zones
			tmpl, err := CloudFormation(ts.s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			files, err := Terraform(ts.s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			wantNAT := len(zones)
			if ts.opts.SingleNAT {
				wantNAT = 1
			}
			for _, typ := range []string{"AWS::EC2::NatGateway", "AWS::EC2::EIP"} {
				if n := strings.Count(string(tmpl), "Type: "+typ+"\n"); n != wantNAT {
					t.Errorf("%d %s in the template; want %d", n, typ, wantNAT)
				}
			}
			natZone := val(t, tfModule(parseModule(t, files)).block(t, "locals"), "nat_zone").AsValueMap()
			if len(natZone) != len(zones) {
				t.Errorf("local.nat_zone has %d zones; want %d", len(natZone), len(zones))
			}
			for i, z := range zones {
				cfnNAT, tfNATZone := fmt.Sprintf("NatGateway%d", i+1), z
				if ts.opts.SingleNAT {
					cfnNAT, tfNATZone = "NatGateway1", zones[0]
				}
				if n := strings.Count(string(tmpl), "Ref: "+cfnNAT+"\n"); ts.opts.SingleNAT && n != len(zones) || !ts.opts.SingleNAT && n != 1 {
					t.Errorf("%d routes through %s", n, cfnNAT)
				}
				if v, ok := natZone[z]; !ok || v.AsString() != tfNATZone {
					t.Errorf("local.nat_zone routes %s through %v; want %s", z, v, tfNATZone)
				}
			}
		})
	}
}
