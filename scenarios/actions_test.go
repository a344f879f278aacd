package scenarios

import (
	"strings"
	"testing"
)

func TestDeployActionsParse(t *testing.T) {
	s, err := Parse("d.yaml", []byte(`name: d
stack: simplydone-deploy
expect: FAIL
load: {phases: [{name: steady, duration: 5m, rate: 10}]}
actions:
  - {at: 1m, action: deploy, version: 2, min_healthy_percentage: 100, max_healthy_percentage: 150, instance_warmup: 30s, checkpoint_percentages: [50], checkpoint_delay: 60s, skip_matching: true, auto_rollback: true}
  - {at: 3m, action: deploy, version: 1, strategy: replace}
slos: [success_rate >= 99%]
`))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Actions[0]
	if !s.ExpectsFail() || len(s.Actions) != 2 || a.Strategy != StrategyRolling || *a.MinHealthyPercentage != 100 || *a.MaxHealthyPercentage != 150 ||
		a.CheckpointPercentages[0] != 50 || !a.SkipMatching || !a.AutoRollback || s.Actions[1].Strategy != StrategyReplace {
		t.Fatalf("%+v", s)
	}
	if s, _ := Builtin("rolling-deploy"); s.ExpectsFail() || s.Expect != ExpectPass {
		t.Fatal("a scenario expects PASS unless it says otherwise")
	}
}

func TestDeployActionsReportEveryProblem(t *testing.T) {
	_, err := Parse("d.yaml", []byte(`name: d
stack: simplydone-deploy
expect: MAYBE
load: {phases: [{name: steady, duration: 5m, rate: 10}]}
actions:
  - {at: 6m, action: redeploy, version: 9, strategy: blue-green}
  - {at: 1m, action: deploy, version: 2, min_healthy_percentage: 101, max_healthy_percentage: 250, checkpoint_percentages: [60, 40]}
  - {at: 1m, action: deploy, version: 2, strategy: replace, auto_rollback: true}
  - {action: deploy}
slos: [success_rate >= 99%]
`))
	if err == nil {
		t.Fatal("accepted")
	}
	text := err.Error()
	for _, want := range []string{
		"d.yaml:3:9: expect:",
		"actions[0].at: 6m is not before the end of the load (5m)",
		"actions[0].action:",
		"actions[0].version: 9 is not a version of stack simplydone-deploy's launch template",
		"actions[0].strategy:",
		"actions[1].min_healthy_percentage: 101: allowed 0 to 100",
		"actions[1].max_healthy_percentage: 250: allowed 100 to 200",
		"actions[1].checkpoint_percentages: [60 40]: want ascending",
		"actions[2].auto_rollback: not allowed with strategy replace",
		"actions[3].at: missing",
		"actions[3].version: missing",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("errors lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
