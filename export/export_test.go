package export

import (
	"bytes"
	"flag"
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
	s := load(t, "testdata/stacks/wide.yaml")
	for range 5 {
		a, _ := Terraform(s, Options{})
		b, _ := Terraform(s, Options{})
		for n := range a {
			if !bytes.Equal(a[n], b[n]) {
				t.Fatalf("%s differs between two exports", n)
			}
		}
		c, _ := CloudFormation(s, Options{})
		d, _ := CloudFormation(s, Options{})
		if !bytes.Equal(c, d) {
			t.Fatal("the template differs between two exports")
		}
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

// --single-nat: one EIP and NAT gateway, every private route through it.
func TestSingleNAT(t *testing.T) {
	s := builtin(t)
	tmpl, err := CloudFormation(s, Options{SingleNAT: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(tmpl), "Type: AWS::EC2::NatGateway"); n != 1 {
		t.Errorf("%d NAT gateways in the template; want 1", n)
	}
	if n := strings.Count(string(tmpl), "Ref: NatGateway1"); n != 3 {
		t.Errorf("%d routes through NatGateway1; want 3", n)
	}
	files, _ := Terraform(s, Options{SingleNAT: true})
	if !strings.Contains(string(files["network.tf"]), `"us-east-1c" = "us-east-1a"`) {
		t.Errorf("network.tf does not route us-east-1c through us-east-1a:\n%s", files["network.tf"])
	}
}
