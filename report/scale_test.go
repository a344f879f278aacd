package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

// TestTimeToScaleShowsTheWholeChain: from a journal with every step of a
// scale-out (breach, alarm, decision, launch, running, InService, first
// healthy check) and an access.log with the new instance's first answer,
// the time to scale has each step, in AWS seconds from the breach.
func TestTimeToScaleShowsTheWholeChain(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ev := func(s float64, e events.Event) Event { return Event{Time: at(s), Event: e} }
	cpu := func(v float64) *float64 { return &v }
	dir := t.TempDir()
	log := "http 2026-12-05T18:04:00.000000Z app/x/1 127.0.0.1:5000 127.0.1.10:8080 0.001 0.002 0.000 200 200 1 1 \"GET / HTTP/1.1\"\n" +
		"http 2026-12-05T18:04:20.500000Z app/x/1 127.0.0.1:5000 127.0.3.10:8080 0.001 0.002 0.000 200 200 1 1 \"GET / HTTP/1.1\"\n"
	if err := os.WriteFile(filepath.Join(dir, rundir.AccessLogFile), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	run := &Run{
		Dir: dir,
		StackYAML: `availability_zones: [a, b]
scaling_policies:
  - name: cpu-high
    alarm: {metric_name: CPUUtilization, comparison_operator: GreaterThanThreshold, threshold: 80}
`,
		Seconds: []Second{
			{AWS: 60, Phase: "calm", Sent: 10, P99: 40, GroupCPU: cpu(20)},
			{AWS: 100, Phase: "sale", Sent: 10, P99: 900, GroupCPU: cpu(95)},
			{AWS: 300, Phase: "sale", Sent: 10, P99: 900, GroupCPU: cpu(95)},
			{AWS: 280, Phase: "sale", Sent: 10, P99: 30, GroupCPU: cpu(60)},
		},
		Events: []Event{
			ev(0, rundir.RunStarted{RunID: "r"}),
			ev(220, cloudwatch.AlarmStateChanged{Alarm: "cpu-high", From: cloudwatch.StateOK, To: cloudwatch.StateAlarm}),
			ev(221, asg.DesiredCapacityChanged{From: 2, To: 3, Policy: "cpu-high", Alarm: "cpu-high"}),
			ev(221, asg.ScalingActivity{Instance: "i-new", Zone: "c", Action: "Launch"}),
			ev(237, asg.InstanceRunning{Instance: "i-new", Zone: "c", Pending: 16}),
			ev(237, asg.LifecycleChanged{Instance: "i-new", Zone: "c", From: "Pending", To: "InService"}),
			ev(250, alb.TargetHealthChanged{Node: "a", Target: "i-other", Addr: "127.0.1.10:8080", To: alb.StateHealthy}),
			ev(259, alb.TargetHealthChanged{Node: "b", Target: "i-new", Addr: "127.0.3.10:8080", To: alb.StateHealthy}),
		},
	}
	steps := analyse(run).timeToScale().Steps
	want := map[string]float64{"first breach": 0, "alarm": 120, "decision": 121, "launch": 121, "running": 137,
		"InService": 137, "first healthy check": 159, "serving": 160.5}
	if len(steps) != len(episodeSteps) {
		t.Fatalf("%d steps, want %d", len(steps), len(episodeSteps))
	}
	for _, st := range steps {
		w, ok := want[st.Step]
		if !ok {
			continue
		}
		if st.SinceBreak == nil || *st.SinceBreak != w {
			t.Errorf("%s: %v s since the breach (%s), want %v", st.Step, st.SinceBreak, st.Detail, w)
		}
	}
}
