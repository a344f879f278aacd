package report

// Histogram is the latency distribution.
type Histogram struct {
	Note    string   `json:"note"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one latency range.
type Bucket struct {
	Label string  `json:"label"`
	Count float64 `json:"count"`
	Pct   float64 `json:"pct"`
	Bar   float64 `json:"bar"` // 0-100, relative to the largest bucket
}

func (a *analysis) histogram() Histogram {
	h := newDist()
	for _, s := range a.secs {
		h.addSecond(s)
	}
	return Histogram{
		Note: "No raw latencies are stored: this distribution is rebuilt from each second's p50, p95, p99 and max " +
			"(half of the second's requests log-uniform between p50/2 and p50, 45% between p50 and p95, 4% between p95 and p99, " +
			"1% between p99 and max). Shapes are approximate; the per-phase quantiles come from the same rebuild.",
		Buckets: h.buckets(),
	}
}
