package scenarios

import (
	"strings"
	"testing"
)

func TestBlueGreenAction(t *testing.T) {
	const head = "name: bg\nstack: simplydone-bluegreen\nload: {phases: [{name: p, duration: 20m, rate: 10}]}\nslos: [lost_writes == 0]\nactions:\n"
	sc, err := Parse("bg.yaml", []byte(head+"  - {at: 1m, action: blue-green, from: v1, to: v2, rule: default, rollback_alarm: {metric_name: HTTPCode_Target_5XX_Count, comparison_operator: GreaterThanThreshold, threshold: 0}}\n"+
		"  - {at: 2m, action: deploy, service: v2, version: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := sc.Actions[0]
	if a.From != "v1" || a.To != "v2" || a.Rule != 0 || len(a.Steps) != 3 || a.Steps[2] != 100 || a.StepInterval != DefaultStepInterval ||
		a.RollbackAlarm == nil || a.RollbackAlarm.Statistic != "Sum" || a.RollbackAlarm.EvaluationPeriods != 1 {
		t.Errorf("defaults: %+v %+v", a, a.RollbackAlarm)
	}
	if sc.Actions[1].Service != "v2" {
		t.Errorf("deploy service %q", sc.Actions[1].Service)
	}
	for _, c := range []struct{ action, want string }{
		{"{at: 1m, action: blue-green, from: v1, to: blue}", `actions[0].to: "blue" is not a target group of the stack`},
		{"{at: 1m, action: blue-green, from: v1, to: v1}", `actions[0].to: "v1" is also from`},
		{"{at: 1m, action: blue-green, from: v1, to: v2, steps: [50, 10]}", `actions[0].steps: [50 10]: want ascending percentages`},
		{"{at: 1m, action: blue-green, from: v1, to: v2, steps: [10, 50]}", `ending at 100`},
		{"{at: 1m, action: blue-green, from: v1, to: v2, version: 2}", `actions[0].version: not allowed with blue-green`},
		{"{at: 1m, action: deploy, version: 1, from: v1}", `actions[0].from: only for action blue-green`},
		{"{at: 1m, action: deploy, version: 1, service: nope}", `actions[0].service: "nope" is not a service`},
		{"{at: 1m, action: blue-green, from: v1, to: v2, rollback_alarm: {metric_name: X, comparison_operator: GreaterThanThreshold, period: 30s}}", `rollback_alarm.period: 30s`},
	} {
		_, err := Parse("bg.yaml", []byte(head+"  - "+c.action+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.action, err, c.want)
		}
	}
}
