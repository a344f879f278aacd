package report

// Cost is what the group cost in AWS time.
type Cost struct {
	InstanceHours float64 `json:"instance_hours"`
	Note          string  `json:"note"`
}

// over AWS time.
func (a *analysis) instanceHours(zone string) float64 {
	var sum float64
	for i, s := range a.secs {
		n := total(s.InService)
		if zone != "" {
			n = s.InService[zone]
		}
		sum += float64(n) * a.dts[i]
	}
	return sum / 3600
}

// cost is the group's instance-hours over the load.
func (a *analysis) cost() Cost {
	return Cost{InstanceHours: r3(a.instanceHours("")),
		Note: "instances InService integrated over AWS time from seconds.jsonl (the load only: start-up and shutdown are not counted)"}
}
