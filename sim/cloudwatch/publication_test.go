package cloudwatch

import (
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// Publication as CloudWatch has it: EC2 datapoints every minute (detailed
// monitoring) or every 5 minutes (basic, AWS's default for a launch
// template: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-detailed-monitoring.html),
// the load balancer's every minute
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html),
// each visible only a publication delay after its period ends (observed, not
// documented: https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/).
func TestWindowSeesOnlyPublishedDatapoints(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	cpu := Query{Namespace: NamespaceEC2, MetricName: MetricCPUUtilization, Dimensions: Dims(DimAutoScalingGroupName, "g"), Statistic: "Average"}
	req := Query{Namespace: NamespaceALB, MetricName: MetricRequestCount, Dimensions: Dims(DimLoadBalancer, "lb"), Statistic: "Sum"}
	custom := Query{Namespace: "CWAgent", MetricName: "cpu_usage_active", Dimensions: Dims(DimAutoScalingGroupName, "g"), Statistic: "Average"}
	put := func(s *Store, q Query, from, to time.Time, v float64) {
		for t := from; t.Before(to); t = t.Add(10 * time.Second) {
			s.Put(Datum{Namespace: q.Namespace, MetricName: q.MetricName, Dimensions: q.Dimensions, Time: t, Value: v})
		}
	}
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	type point struct {
		at      time.Time // the period's start
		value   float64
		missing bool
	}
	cases := []struct {
		name   string
		store  *Store
		q      Query
		period time.Duration
		end    time.Time // the window's end (the evaluation's slot)
		n      int
		now    time.Time
		want   []point
	}{
		{
			name:  "detailed: minute 12:00 is not visible at 12:02:59 with a 2m delay",
			store: NewStore(WithPublication(NamespaceEC2, EC2Publication(MonitoringDetailed, 2*time.Minute))),
			q:     cpu, period: time.Minute, end: m(2), n: 2, now: m(3).Add(-time.Second),
			want: []point{{m(0), 0, true}, {m(1), 0, true}},
		},
		{
			name:  "detailed: minute 12:00 is visible at 12:03 with a 2m delay",
			store: NewStore(WithPublication(NamespaceEC2, EC2Publication(MonitoringDetailed, 2*time.Minute))),
			q:     cpu, period: time.Minute, end: m(3), n: 3, now: m(3),
			want: []point{{m(0), 90, false}, {m(1), 0, true}, {m(2), 0, true}},
		},
		{
			name:  "basic: one 5-minute datapoint, stamped 12:00, visible at 12:07",
			store: NewStore(WithPublication(NamespaceEC2, EC2Publication(MonitoringBasic, 2*time.Minute))),
			q:     cpu, period: time.Minute, end: m(7), n: 7, now: m(7),
			want: []point{{m(0), 90, false}, {m(1), 0, true}, {m(2), 0, true}, {m(3), 0, true}, {m(4), 0, true}, {m(5), 0, true}, {m(6), 0, true}},
		},
		{
			name:  "basic: nothing of 12:00-12:05 at 12:06:59",
			store: NewStore(WithPublication(NamespaceEC2, EC2Publication(MonitoringBasic, 2*time.Minute))),
			q:     cpu, period: time.Minute, end: m(6), n: 6, now: m(7).Add(-time.Second),
			want: []point{{m(0), 0, true}, {m(1), 0, true}, {m(2), 0, true}, {m(3), 0, true}, {m(4), 0, true}, {m(5), 0, true}},
		},
		{
			name:  "load balancer: a minute's Sum whole or not at all",
			store: NewStore(WithPublication(NamespaceALB, ALBPublication(2*time.Minute))),
			q:     req, period: time.Minute, end: m(3), n: 2, now: m(3).Add(30 * time.Second),
			want: []point{{m(1), 0, true}, {m(2), 0, true}}, // 12:01 is visible only at 12:04
		},
		{
			name:  "load balancer: 12:00's Sum of six samples at 12:03",
			store: NewStore(WithPublication(NamespaceALB, ALBPublication(2*time.Minute))),
			q:     req, period: time.Minute, end: m(1), n: 1, now: m(3),
			want: []point{{m(0), 6 * 90, false}},
		},
		{
			name:  "custom high-resolution metric: each 10 s sample 30 s after it",
			store: NewStore(WithCustomPublication(Publication{Delay: 30 * time.Second})),
			q:     custom, period: 10 * time.Second, end: t0.Add(30 * time.Second), n: 3, now: t0.Add(49 * time.Second),
			want: []point{{t0, 90, false}, {t0.Add(10 * time.Second), 90, false}, {t0.Add(20 * time.Second), 0, true}},
		},
		{
			name:  "a 5-minute period slides by a minute: [11:58, 12:03)",
			store: NewStore(),
			q:     cpu, period: 5 * time.Minute, end: m(3), n: 1, now: m(3),
			want: []point{{m(-2), 90, false}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, q := range []Query{cpu, req, custom} {
				put(c.store, q, t0, m(5), 90)
			}
			q := c.q
			q.Period = c.period
			got := c.store.Window(q, c.end, c.n, c.now)
			if len(got) != len(c.want) {
				t.Fatalf("%d points, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				g := got[i]
				if !g.Time.Equal(w.at) || g.Missing != w.missing || (!w.missing && g.Value != w.value) {
					t.Errorf("point %d = %v %v missing=%v, want %v %v missing=%v", i, g.Time.Format("15:04:05"), g.Value, g.Missing, w.at.Format("15:04:05"), w.value, w.missing)
				}
			}
		})
	}
}

// A breach reaches the alarm a publication delay after its minute ends:
// CPU above 80 from 12:00 (1 of 1 at 60 s) is ALARM at 12:01 with no
// delay and at 12:03 with EC2's observed 2 minutes; with basic monitoring
// the first 5-minute datapoint is visible at 12:07.
func TestAlarmTrailsTheBreachByThePublicationDelay(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		monitoring Monitoring
		delay      time.Duration
		want       time.Time
	}{
		{MonitoringDetailed, 0, t0.Add(time.Minute)},
		{MonitoringDetailed, 2 * time.Minute, t0.Add(3 * time.Minute)},
		{MonitoringDetailed, 3 * time.Minute, t0.Add(4 * time.Minute)},
		{MonitoringBasic, 2 * time.Minute, t0.Add(7 * time.Minute)},
	} {
		store := NewStore(WithPublication(NamespaceEC2, EC2Publication(c.monitoring, c.delay)))
		clk := clock.NewFake(t0)
		svc := NewService(store, clk, nil)
		cfg := alarmCfg(1, 1, "")
		cfg.Threshold = 80
		a, err := svc.AddAlarm(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var at time.Time
		for s := 0; s <= 9*60; s += 10 {
			now := t0.Add(time.Duration(s) * time.Second)
			store.Put(Datum{Namespace: cfg.Namespace, MetricName: cfg.MetricName, Dimensions: cfg.Dimensions, Time: now, Value: 95})
			svc.evaluate(now, true)
			if at.IsZero() && a.State() == StateAlarm {
				at = now
			}
		}
		if !at.Equal(c.want) {
			t.Errorf("%s, delay %v: ALARM at %v, want %v", c.monitoring, c.delay, at.Format("15:04:05"), c.want.Format("15:04:05"))
		}
	}
}

// While an alarm stays in ALARM, CloudWatch re-runs its Auto Scaling action
// at most once a minute, even for a 10 s high-resolution alarm evaluated
// every 10 s (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html:
// "alarms invoke actions ... Auto Scaling ... continue to invoke" for every
// period; the lab caps a high-resolution alarm at a minute, as AWS's
// scaling actions are minute-granular).
func TestActionRerunsAtMostOnceAMinute(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	store := NewStore()
	clk := clock.NewFake(t0)
	svc := NewService(store, clk, nil)
	cfg := alarmCfg(1, 1, "")
	cfg.Namespace, cfg.Period, cfg.Threshold = "CWAgent", 10*time.Second, 80
	a, err := svc.AddAlarm(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var acted []string
	a.OnEvaluate(func(st State, ev Evaluation) {
		if ev.Act && st == StateAlarm {
			acted = append(acted, ev.Time.Format("15:04:05"))
		}
	})
	for s := 0; s <= 150; s += 10 {
		now := t0.Add(time.Duration(s) * time.Second)
		store.Put(Datum{Namespace: cfg.Namespace, MetricName: cfg.MetricName, Dimensions: cfg.Dimensions, Time: now, Value: 95})
		svc.evaluate(now, true)
	}
	want := []string{"12:00:10", "12:01:10", "12:02:10"}
	if len(acted) != len(want) || acted[0] != want[0] || acted[1] != want[1] || acted[2] != want[2] {
		t.Errorf("actions ran at %v, want %v", acted, want)
	}
}
