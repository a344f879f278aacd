package cloudwatch

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC) // aligned to every period

func cpuQuery(stat string, period time.Duration) Query {
	return Query{Namespace: NamespaceEC2, MetricName: MetricCPUUtilization,
		Dimensions: Dims(DimAutoScalingGroupName, "simplydone"), Period: period, Statistic: stat}
}

func putCPU(s *Store, at time.Time, v float64) {
	s.Put(Datum{Namespace: NamespaceEC2, MetricName: MetricCPUUtilization,
		Dimensions: Dims(DimAutoScalingGroupName, "simplydone"), Time: at, Value: v})
}

func TestDatapointStatistics(t *testing.T) {
	s := NewStore()
	for i, v := range []float64{10, 40, 20, 30, 100, 50, 60, 70, 80, 90} {
		putCPU(s, t0.Add(time.Duration(i)*5*time.Second), v)
	}
	putCPU(s, t0.Add(time.Minute), 999) // next period: must not leak in
	putCPU(s, t0.Add(-time.Second), 999)
	tests := []struct {
		stat string
		want float64
	}{
		{StatSampleCount, 10},
		{StatSum, 550},
		{StatAverage, 55},
		{StatMinimum, 10},
		{StatMaximum, 100},
		{"p50", 50},
		{"p90", 90},
		{"p95", 100},
		{"p99", 100},
		{"p99.9", 100},
		{"p10", 10},
		{"p0", 10},
		{"p100", 100},
	}
	st, ok := s.Datapoint(cpuQuery(StatAverage, time.Minute), t0)
	if !ok {
		t.Fatal("no datapoint for a period with samples")
	}
	for _, tc := range tests {
		got, err := st.Value(tc.stat)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.stat, got, err, tc.want)
		}
	}
}

func TestDatapointMissingIsNotZero(t *testing.T) {
	s := NewStore()
	putCPU(s, t0.Add(30*time.Second), 5)
	if _, ok := s.Datapoint(cpuQuery(StatSum, time.Minute), t0.Add(time.Minute)); ok {
		t.Error("empty period gave a datapoint")
	}
	other := cpuQuery(StatSum, time.Minute)
	other.Dimensions = Dims(DimInstanceID, "i-1")
	if _, ok := s.Datapoint(other, t0); ok {
		t.Error("dimensions must match exactly")
	}
	if got := (Stats{}).Percentile(50); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
}

func TestSeriesAlignment(t *testing.T) {
	s := NewStore()
	for _, at := range []time.Duration{5 * time.Second, 55 * time.Second, 65 * time.Second, 185 * time.Second} {
		putCPU(s, t0.Add(at), at.Seconds())
	}
	tests := []struct {
		name     string
		period   time.Duration
		from, to time.Time
		want     []Point
	}{
		{"minutes, gap at 02:00", time.Minute, t0, t0.Add(4 * time.Minute), []Point{
			{Time: t0, Value: 2}, {Time: t0.Add(time.Minute), Value: 1}, {Time: t0.Add(3 * time.Minute), Value: 1}}},
		{"unaligned from rounds down", time.Minute, t0.Add(30 * time.Second), t0.Add(2 * time.Minute), []Point{
			{Time: t0, Value: 2}, {Time: t0.Add(time.Minute), Value: 1}}},
		{"30 s periods", 30 * time.Second, t0, t0.Add(90 * time.Second), []Point{
			{Time: t0, Value: 1}, {Time: t0.Add(30 * time.Second), Value: 1}, {Time: t0.Add(60 * time.Second), Value: 1}}},
		{"5 min period", 5 * time.Minute, t0, t0.Add(5 * time.Minute), []Point{{Time: t0, Value: 4}}},
		{"nothing", time.Minute, t0.Add(10 * time.Minute), t0.Add(20 * time.Minute), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Series(cpuQuery(StatSampleCount, tc.period), tc.from, tc.to)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !got[i].Time.Equal(tc.want[i].Time) || got[i].Value != tc.want[i].Value || got[i].Missing {
					t.Errorf("point %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAlignPeriodUsesUnixEpoch(t *testing.T) {
	at := time.Unix(1000, 0).UTC() // 1000 s after the epoch
	if got := AlignPeriod(at, 7*time.Minute); got.Unix() != 840 {
		t.Errorf("AlignPeriod(1000s, 7m) = %d, want 840", got.Unix())
	}
}

func TestStoreStaysBounded(t *testing.T) {
	s := NewStore(WithRetention(10*time.Minute), WithMaxSamples(100))
	for i := range 2000 {
		putCPU(s, t0.Add(time.Duration(i)*time.Second), 1)
	}
	s.Put(Datum{Namespace: "x", MetricName: "gone", Time: t0, Value: 1})
	putCPU(s, t0.Add(time.Hour), 1) // moves time on: "gone" is swept
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.series) != 1 {
		t.Errorf("series kept = %d, want 1 (stale metrics swept)", len(s.series))
	}
	for k, sr := range s.series {
		if len(sr.samples) > 100 {
			t.Errorf("%q keeps %d samples, cap is 100", k, len(sr.samples))
		}
	}
}

func TestOutOfOrderPut(t *testing.T) {
	s := NewStore()
	putCPU(s, t0.Add(50*time.Second), 3)
	putCPU(s, t0.Add(10*time.Second), 1)
	putCPU(s, t0.Add(70*time.Second), 9)
	putCPU(s, t0.Add(20*time.Second), 2)
	st, _ := s.Datapoint(cpuQuery(StatSum, time.Minute), t0)
	if st.Sum != 6 || st.SampleCount != 3 {
		t.Errorf("sum %v count %v, want 6 and 3", st.Sum, st.SampleCount)
	}
}

func TestStatisticNames(t *testing.T) {
	for _, ok := range []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p99", "p99.9", "p0", "p100"} {
		if err := ValidateStatistic(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "average", "Avg", "p", "p101", "p-1", "pabc", "tm99", "p1e1"} {
		if ValidateStatistic(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDims(t *testing.T) {
	a := Dims(DimInstanceID, "i-1", DimAutoScalingGroupName, "simplydone")
	b := Dims(DimAutoScalingGroupName, "simplydone", DimInstanceID, "i-1")
	if a.String() != "AutoScalingGroupName=simplydone,InstanceId=i-1" || a.String() != b.String() {
		t.Errorf("canonical forms %q, %q", a, b)
	}
	if got := Dims("A", "1", "A", "2").String(); got != "A=2" {
		t.Errorf("repeated name: %q", got)
	}
}
