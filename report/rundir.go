package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The files of a run directory the report reads.
const (
	SummaryFile  = "summary.json"
	SecondsFile  = "seconds.jsonl"
	EventsFile   = "events.jsonl"
	StackFile    = "stack.yaml"
	ScenarioFile = "scenario.yaml"
	ReportFile   = "report.html"
)

// Summary mirrors summary.json (lab.Summary); it is redeclared here so that
// the lab package can call this one without an import cycle.
type Summary struct {
	RunID       string  `json:"run_id"`
	Scenario    string  `json:"scenario"`
	Stack       string  `json:"stack"`
	Verdict     string  `json:"verdict"`
	Reason      string  `json:"reason,omitempty"`
	Seed        uint64  `json:"seed"`
	Speed       float64 `json:"speed"`
	Driver      string  `json:"driver"`
	WallSeconds float64 `json:"wall_seconds"`
	AWSSeconds  float64 `json:"aws_seconds"`
	SLOs        []struct {
		Expr     string  `json:"expr"`
		Observed float64 `json:"observed"`
		Shown    string  `json:"observed_text"`
		Pass     bool    `json:"pass"`
		Margin   float64 `json:"margin"`
	} `json:"slos"`
	Requests    int     `json:"requests"`
	SuccessRate float64 `json:"success_rate"`
	Latency     struct {
		P50 float64 `json:"p50"`
		P95 float64 `json:"p95"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latency_ms"`
	Errors struct {
		HTTP4xx   int   `json:"http_4xx"`
		HTTP5xx   int   `json:"http_5xx"`
		Transport int   `json:"transport"`
		ELB502    int64 `json:"elb_502"`
		ELB503    int64 `json:"elb_503"`
		ELB504    int64 `json:"elb_504"`
		Target5xx int64 `json:"target_5xx"`
	} `json:"errors"`
	OfferedRate  float64 `json:"offered_rps"`
	AchievedRate float64 `json:"achieved_rps"`
	LagP99Ms     float64 `json:"lag_p99_ms"`
	Invalid      bool    `json:"invalid"`
	InService    struct {
		Min     int `json:"min"`
		Max     int `json:"max"`
		PerZone map[string]struct {
			Min int `json:"min"`
			Max int `json:"max"`
		} `json:"per_zone"`
	} `json:"in_service"`
	ScalingActivities struct {
		Launches     int `json:"launches"`
		Terminations int `json:"terminations"`
		ScaleOuts    int `json:"scale_outs"`
		ScaleIns     int `json:"scale_ins"`
		Replacements int `json:"replacements"`
	} `json:"scaling_activities"`
	Faults struct {
		Injected int `json:"injected"`
		Reverted int `json:"reverted"`
	} `json:"faults"`
	AcknowledgedWrites int `json:"acknowledged_writes"`
	LostWrites         int `json:"lost_writes"`
}

// Second mirrors one line of seconds.jsonl (lab.SecondRecord).
type Second struct {
	Second    int                `json:"second"`
	AWS       float64            `json:"aws_s"`
	Phase     string             `json:"phase"`
	Offered   float64            `json:"offered"`
	Sent      int                `json:"sent"`
	OK        int                `json:"ok_2xx"`
	Err4xx    int                `json:"err_4xx"`
	Err5xx    int                `json:"err_5xx"`
	Transport int                `json:"transport"`
	P50       float64            `json:"p50_ms"`
	P95       float64            `json:"p95_ms"`
	P99       float64            `json:"p99_ms"`
	Max       float64            `json:"max_ms"`
	InService map[string]int     `json:"in_service"`
	Desired   int                `json:"desired"`
	CPU       map[string]float64 `json:"cpu"`
	GroupCPU  *float64           `json:"group_cpu,omitempty"`
}

// Event is one line of events.jsonl; Event holds the type's own fields.
type Event struct {
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"` // AWS time
	Kind    string          `json:"kind"`
	Type    string          `json:"type"`
	Event   json.RawMessage `json:"event"`
	Message string          `json:"message"`
}

// Run is a run directory as read.
type Run struct {
	Dir          string
	Summary      Summary
	Seconds      []Second
	Events       []Event
	StackYAML    string
	ScenarioYAML string
}

// ReadRun reads a run directory. summary.json is required; the other files
// are read when present (a run stopped early may lack some).
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.Summary); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
	}
	if err := readLines(filepath.Join(dir, SecondsFile), func(line []byte) error {
		var s Second
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		r.Seconds = append(r.Seconds, s)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, EventsFile), func(line []byte) error {
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		r.Events = append(r.Events, e)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{StackFile, &r.StackYAML}, {ScenarioFile, &r.ScenarioYAML}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		*f.dst = string(b)
	}
	return r, nil
}

// readLines calls f for each non-empty line of a JSONL file; a missing file
// has no lines, and a torn last line (a run killed mid-write) is ignored.
func readLines(path string, f func([]byte) error) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := f(line); err != nil {
			if !bytes.HasSuffix(b, []byte("\n")) && bytes.HasSuffix(b, sc.Bytes()) {
				return nil // a torn last line: the run was killed while writing it
			}
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
