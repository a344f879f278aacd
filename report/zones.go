package report

import (
	"math"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/sim/asg"
)

// ZoneRow is one Availability Zone over the load.
type ZoneRow struct {
	Zone          string  `json:"zone"`
	InServiceMin  int     `json:"in_service_min"`
	InServiceMax  int     `json:"in_service_max"`
	InServiceMean float64 `json:"in_service_mean"`
	InstanceHours float64 `json:"instance_hours"`
	CPUMean       float64 `json:"cpu_mean"`
	CPUMax        float64 `json:"cpu_max"`
	Launches      int     `json:"launches"`
	Terminations  int     `json:"terminations"`
	Faults        int     `json:"faults"`
}

func (a *analysis) zoneRows() []ZoneRow {
	var rows []ZoneRow
	for _, z := range a.zones {
		row := ZoneRow{Zone: z, InServiceMin: math.MaxInt}
		var sum, dur, cpu, cpuN float64
		for i, s := range a.secs {
			n := s.InService[z]
			row.InServiceMin = min(row.InServiceMin, n)
			row.InServiceMax = max(row.InServiceMax, n)
			sum += float64(n) * a.dts[i]
			dur += a.dts[i]
			if c, ok := s.CPU[z]; ok {
				cpu += c
				cpuN++
				row.CPUMax = max(row.CPUMax, c)
			}
		}
		if row.InServiceMin == math.MaxInt {
			row.InServiceMin = 0
		}
		if dur > 0 {
			row.InServiceMean = r3(sum / dur)
		}
		row.InstanceHours = r3(sum / 3600)
		if cpuN > 0 {
			row.CPUMean = r1(cpu / cpuN)
		}
		row.CPUMax = r1(row.CPUMax)
		for _, e := range a.run.Events {
			switch ev := e.Event.(type) {
			case asg.ScalingActivity:
				if ev.Zone == z {
					if ev.Action == "Launch" {
						row.Launches++
					} else {
						row.Terminations++
					}
				}
			case chaos.FaultInjected:
				if ev.Zone == z {
					row.Faults++
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// instanceHours integrates instances in service (one zone, or all for "")
