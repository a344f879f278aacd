package tui

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/asg"
	"github.com/simplydone/lab/sim/cloudwatch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// asciiRenderer has a fixed colour profile, so views are the same in a
// terminal, under go test and in CI.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func newModel(w, h int) Model {
	m := New(Options{Renderer: asciiRenderer()})
	return step(m, tea.WindowSizeMsg{Width: w, Height: h})
}

func step(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	return m
}

func keys(m Model, ks ...string) Model {
	for _, k := range ks {
		var msg tea.KeyMsg
		switch k {
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "pgup":
			msg = tea.KeyMsg{Type: tea.KeyPgUp}
		case "pgdown":
			msg = tea.KeyMsg{Type: tea.KeyPgDown}
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "end":
			msg = tea.KeyMsg{Type: tea.KeyEnd}
		case "ctrl+c":
			msg = tea.KeyMsg{Type: tea.KeyCtrlC}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m = step(m, msg)
	}
	return m
}

var t0 = time.Date(2026, 11, 22, 3, 30, 0, 0, time.UTC)

// fixture is the middle of a flash sale: a scale-out under way, one
// instance killed, the high-CPU alarm in ALARM.
func fixture() Snapshot {
	hist := History{}
	for i := 0; i < 90; i++ {
		off := 10.0
		if i > 20 {
			off = min(45, 10+float64(i-20)*1.2)
		}
		errs := 0.0
		if i == 70 || i == 71 {
			errs = 3
		}
		hist.Offered = append(hist.Offered, off)
		hist.OK = append(hist.OK, off-errs)
		hist.Errors = append(hist.Errors, errs)
		hist.P99 = append(hist.P99, 20+float64(i%7)*3+errs*40)
		hist.P50 = append(hist.P50, 8+float64(i%5)+errs*10)
	}
	hist.InService = map[string][]float64{}
	marks := []byte(strings.Repeat(" ", 90))
	for i := 0; i < 90; i++ {
		a, b, c := 1.0, 1.0, 0.0
		if i >= 62 {
			c = 1 // launched at the scale-out, in service after boot
		}
		hist.InService["us-east-1a"] = append(hist.InService["us-east-1a"], a)
		hist.InService["us-east-1b"] = append(hist.InService["us-east-1b"], b)
		hist.InService["us-east-1c"] = append(hist.InService["us-east-1c"], c)
	}
	marks[55], marks[82], marks[86] = MarkScaleOut, MarkFault, MarkScaleOut
	hist.Marks = string(marks)
	zero := 0.0
	alarmReason := cloudwatch.Reason{Kind: cloudwatch.ReasonThresholdCrossed,
		Text:      "Threshold Crossed: 1 out of the last 1 datapoints [99.78 (22/11/26 03:37:00)] was greater than the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
		Evaluated: 1, Received: 1, Datapoints: []cloudwatch.Point{{Time: t0.Add(7 * time.Minute), Value: 99.78}},
		Comparison: "greater than", Threshold: 80, Minimum: 1, Transition: "OK -> ALARM"}
	ev := []Entry{
		{Seq: 1, At: 0, Class: ClassLoad, Text: "Run run-x: stack itest at speed 20x, evidence in runs/run-x"},
		{Seq: 2, At: 5 * time.Second, Class: ClassHealth, Text: "node us-east-1a: target i-0a1b2c3d4e5f60718 (127.0.1.10:18491, us-east-1a) initial -> healthy",
			Event: alb.TargetHealthChanged{Node: "us-east-1a", Target: "i-0a1b2c3d4e5f60718", Zone: "us-east-1a", Addr: "127.0.1.10:18491", From: alb.StateInitial, To: alb.StateHealthy}},
		{Seq: 3, At: 2*time.Minute + 10*time.Second, Class: ClassLoad, Text: "Phase rise: 10 to 45 requests/s for 1m0s (AWS time)",
			Event: lab.PhaseChanged{Phase: "rise", Note: "10 to 45 requests/s for 1m0s (AWS time)"}},
		{Seq: 4, At: 4*time.Minute + 36*time.Second, Class: ClassAlarms, Text: `Alarm "cpu-high" changed from OK to ALARM: ` + alarmReason.Text,
			Event: cloudwatch.AlarmStateChanged{Alarm: "cpu-high", From: cloudwatch.StateOK, To: cloudwatch.StateAlarm, Reason: alarmReason, Time: t0.Add(7 * time.Minute), Namespace: "AWS/EC2", MetricName: "CPUUtilization", Statistic: "Average"}},
		{Seq: 5, At: 4*time.Minute + 36*time.Second, Class: ClassScaling, Text: "Alarm cpu-high in state ALARM (metric 99.8) triggered policy cpu-high changing the desired capacity from 2 to 3",
			Event: asg.DesiredCapacityChanged{Group: "itest", From: 2, To: 3, Policy: "cpu-high", Alarm: "cpu-high", Value: 99.78}},
		{Seq: 6, At: 4*time.Minute + 37*time.Second, Class: ClassScaling, Text: "Launching a new EC2 instance: i-36765340e3ad58a47. Cause: At 2026-11-22T03:38:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 2 to 3.",
			Event: asg.ScalingActivity{Group: "itest", Instance: "i-36765340e3ad58a47", Zone: "us-east-1c", Action: "Launch", Description: "Launching a new EC2 instance: i-36765340e3ad58a47",
				Cause: "At 2026-11-22T03:38:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 2 to 3."}},
		{Seq: 7, At: 8 * time.Minute, Class: ClassChaos, Text: "Chaos #1: kill-instance on i-f1c6825c3507768a6 (us-east-1b)",
			Event: chaos.FaultInjected{N: 1, Action: "kill-instance", Instance: "i-f1c6825c3507768a6", Zone: "us-east-1b"}},
		{Seq: 8, At: 8*time.Minute + 40*time.Second, Class: ClassHealth, Text: "node us-east-1b: target i-f1c6825c3507768a6 (127.0.2.10:18491, us-east-1b) healthy -> unhealthy (Target.Timeout: Request timed out)",
			Event: alb.TargetHealthChanged{Node: "us-east-1b", Target: "i-f1c6825c3507768a6", Zone: "us-east-1b", Addr: "127.0.2.10:18491", From: alb.StateHealthy, To: alb.StateUnhealthy, Reason: alb.ReasonTimeout, Description: "Request timed out"}},
	}
	return Snapshot{
		Scenario: "compressed-flash-sale", Stack: "itest", Speed: 20, Phase: "peak", Up: true,
		AWS: 8*time.Minute + 42*time.Second, Wall: 26 * time.Second, Offered: 45, Achieved: 44,
		SLOs: []SLOBadge{
			{Expr: "success_rate >= 95%", Status: Holding, Observed: "99.6%"},
			{Expr: "p99 <= 1s", Status: AtRisk, Observed: "≈840ms"},
			{Expr: "max_in_service <= 6", Status: Holding, Observed: "3"},
			{Expr: "lost_writes == 0", Status: Pending, Observed: "at the end"},
		},
		Zones: []Zone{
			{Name: "us-east-1a", Node: Node{Addr: "127.0.1.1:18491", Healthy: 2, Unhealthy: 1, DNS: DNSIn},
				Instances: []Instance{{ID: "i-0a1b2c3d4e5f60718", State: "InService", Health: "healthy", HealthyOn: 3, Nodes: 3, CPU: 91.5, HasCPU: true}}},
			{Name: "us-east-1b", Node: Node{Addr: "127.0.2.1:18491", Healthy: 2, Unhealthy: 1, DNS: DNSIn},
				Instances: []Instance{{ID: "i-f1c6825c3507768a6", State: "InService", Health: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out", HealthyOn: 2, Nodes: 3, CPU: 0, HasCPU: true,
					// node 1b has seen it fail; 1a and 1c have yet to
					Views: map[string]string{"us-east-1a": "healthy", "us-east-1b": "unhealthy", "us-east-1c": "healthy"}}}},
			{Name: "us-east-1c", Node: Node{Addr: "127.0.3.1:18491", Healthy: 2, Unhealthy: 1, DNS: DNSIn},
				Instances: []Instance{
					{ID: "i-36765340e3ad58a47", State: "InService", Health: "healthy", HealthyOn: 3, Nodes: 3, CPU: 64, HasCPU: true},
					{ID: "i-9c0ffee000000beef", State: "Pending", Health: "initial", Reason: "Elb.InitialHealthChecking", HealthyOn: 0, Nodes: 3},
				}},
		},
		Group: Group{Name: "itest", Min: 1, Desired: 4, Max: 6, InService: 3, Pending: 1, Warming: 1},
		Alarms: []Alarm{
			{Name: "cpu-high", State: "ALARM", Metric: "CPUUtilization", Comparison: ">", Threshold: 80, Value: 99.78, HasValue: true,
				Policy: &AlarmPolicy{Name: "cpu-high", Type: "StepScaling", AdjustmentType: "ChangeInCapacity", Threshold: 80,
					Steps: []PolicyStep{{Lower: &zero, Adjustment: 1}}}},
			{Name: "cpu-low", State: "OK", Metric: "CPUUtilization", Comparison: "<", Threshold: 10,
				Policy: &AlarmPolicy{Name: "cpu-low", Type: "StepScaling", AdjustmentType: "ChangeInCapacity", Threshold: 10,
					Steps: []PolicyStep{{Upper: &zero, Adjustment: -1}}}},
		},
		CPUThresholds: []float64{80, 10},
		History:       hist,
		Events:        ev,
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("view differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}
