package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/rundir"
)

// A run that wrote host.jsonl gets a host contention chart beside the
// others, at the AWS time of each load second, and the validity section
// says whether the host starved it; a run without one (an older run) has
// neither.
func TestHostContentionChart(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{SummaryFile, SecondsFile, EventsFile, StackFile, ScenarioFile} {
		b, err := os.ReadFile(filepath.Join(fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Build(r); len(rep.Charts) != 4 || rep.Validity.Host != "" {
		t.Fatalf("a run without host.jsonl: %d charts, host note %q", len(rep.Charts), rep.Validity.Host)
	}

	var lines []string
	for i := range 3 {
		s := rundir.HostSecond{Second: i, Instances: 2, Entitled: 0.5, CPUs: 2, Other: 1.5, DeniedPct: 10, LabDeniedPct: 5}
		if i == 1 {
			s.DeniedPct, s.LabDeniedPct, s.Starved, s.Other = 64, 41, true, 1.9
		}
		b, _ := json.Marshal(s)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, rundir.HostFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Summary.Host = &rundir.Host{Rule: "the rule", StarvedAbovePct: 20, Measured: true, Seconds: 3, Starved: []int{1}, MaxDeniedPct: 64, MaxLabDeniedPct: 41, MaxOther: 1.9, Invalid: true}
	rep := Build(r)
	if len(rep.Charts) != 5 {
		t.Fatalf("%d charts, want the host's fifth", len(rep.Charts))
	}
	c := rep.Charts[4]
	if c.ID != "host" || len(c.Series) != 3 || len(c.HLines) != 1 || c.HLines[0].Y != 20 {
		t.Fatalf("host chart %+v", c)
	}
	withheld := c.Series[1].Pts
	if len(withheld) != 3 || withheld[1] != (Pt{r3(72.20540896 / 60), 64}) {
		t.Fatalf("withheld points %v: want second 1 at its AWS minute with 64%%", withheld)
	}
	if lab := c.Series[2].Pts; len(lab) != 3 || lab[1][1] != 41 {
		t.Fatalf("withheld from the lab %v: want second 1 with 41%%", lab)
	}
	if out := c.Series[0].Pts; out[1][1] != 95 {
		t.Fatalf("outside the lab %v: want 1.9 of 2 CPUs as 95%%", out)
	}
	if !strings.Contains(c.Note, "1 of 3 load seconds starved") {
		t.Errorf("note %q", c.Note)
	}
	if v := rep.Validity.Host; !strings.HasPrefix(v, "The host starved the run: 1 of 3 load seconds starved (up to 64% of the instances' shares and 41% of the lab's own CPU withheld") {
		t.Errorf("validity %q", v)
	}
	page := render(t, rep)
	if !strings.Contains(string(page), `id="chart-host"`) || !strings.Contains(string(page), "The host starved the run") {
		t.Error("report.html lacks the host chart or its note")
	}
}
