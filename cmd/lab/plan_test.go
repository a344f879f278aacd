package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of lab plan")

// TestPlanGolden checks `lab plan` against golden files: the resolved
// timeline with the seed, the SLOs and the stop conditions. Run with
// -update to rewrite them after a deliberate change.
func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct{ name, golden string }{
		{"az-outage", "az-outage.golden"},
		{"monkey", "monkey.golden"},
		{filepath.Join("testdata", "plan", "timeline.yaml"), "timeline.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, out, errOut := runLab(t, "plan", tc.name)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			path := filepath.Join("testdata", "plan", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("lab plan %s:\n%s\nwant (%s):\n%s", tc.name, out, path, want)
			}
		})
	}
	// The seed changes the monkey's kills; the same seed, the same plan.
	_, a, _ := runLab(t, "plan", "monkey", "--seed", "8")
	_, b, _ := runLab(t, "plan", "monkey", "--seed", "8")
	_, c, _ := runLab(t, "plan", "monkey")
	if a != b || a == c {
		t.Fatal("the plan does not follow the seed")
	}
	if code, _, _ := runLab(t, "plan"); code != exitUsage {
		t.Fatalf("plan without a scenario: exit %d", code)
	}
}
