package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is a trimmed run directory (logs/ and data/ dropped).
const fixture = "testdata/run"

func readFixture(t *testing.T) *Run {
	t.Helper()
	r, err := ReadRun(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(go test ./report/ -update rewrites it)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d (go test ./report/ -update rewrites it)", path, len(gl), len(wl))
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestReportModelGolden pins the report's data model for the fixture run.
func TestReportModelGolden(t *testing.T) {
	rep := Build(readFixture(t))
	golden(t, "report.golden.json", marshal(t, rep))

	// What a reader checks first, independently of the golden file.
	if rep.Run.Verdict != "PASS" || len(rep.SLOs) == 0 {
		t.Errorf("verdict %q, %d SLOs", rep.Run.Verdict, len(rep.SLOs))
	}
	if len(rep.Charts) != 4 || len(rep.Phases) == 0 || len(rep.Timeline) == 0 {
		t.Errorf("%d charts, %d phases, %d timeline rows", len(rep.Charts), len(rep.Phases), len(rep.Timeline))
	}
	steps := rep.TimeToScale.Steps
	if len(steps) != 9 || steps[0].At == "" || steps[5].At == "" { // breach ... InService
		t.Errorf("time to scale: %+v", steps)
	}
	if rep.Cost.InstanceHours <= 0 {
		t.Errorf("instance-hours %v", rep.Cost.InstanceHours)
	}
}

func render(t *testing.T, rep *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportIsDeterministicAndSmall(t *testing.T) {
	a := render(t, Build(readFixture(t)))
	b := render(t, Build(readFixture(t)))
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same run differ")
	}
	if len(a) > 2<<20 {
		t.Fatalf("report.html is %d bytes, over 2 MB", len(a))
	}
	t.Logf("report.html: %d bytes", len(a))
}

var yamlBlock = regexp.MustCompile(`(?s)<pre class="yaml">.*?</pre>`)

// selfContained checks that a page needs nothing from the network: no URL
// outside the verbatim YAML, no script, no external style sheet or font.
func selfContained(t *testing.T, page []byte) {
	t.Helper()
	rest := yamlBlock.ReplaceAll(page, nil)
	for _, bad := range []string{"http://", "https://", "<script", "<link", "@import", "url(", "<iframe", "<img", "src="} {
		if i := bytes.Index(bytes.ToLower(rest), []byte(bad)); i >= 0 {
			t.Errorf("the page contains %q: ...%s...", bad, rest[max(0, i-80):min(len(rest), i+80)])
		}
	}
	for _, want := range []string{"<style>", "<svg", "</html>"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestReportIsSelfContained(t *testing.T) {
	page := render(t, Build(readFixture(t)))
	selfContained(t, page)
	// Sections in the order.
	last := -1
	for _, id := range []string{`id="verdict"`, `id="validity"`, `id="timeline"`, `id="charts"`, `id="tts"`, `id="phases"`, `id="zones"`, `id="latency"`, `id="asrun"`} {
		i := bytes.Index(page, []byte(id))
		if i < last {
			t.Errorf("section %s missing or out of order", id)
		}
		last = i
	}
	for _, f := range []string{StackFile, ScenarioFile} {
		b, err := os.ReadFile(filepath.Join(fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if !bytes.Contains(page, []byte(first)) {
			t.Errorf("%s is not shown verbatim (no %q)", f, first)
		}
	}
}

func TestWriteRunReport(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{SummaryFile, SecondsFile, EventsFile, StackFile, ScenarioFile} {
		b, err := os.ReadFile(filepath.Join(fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	if err := WriteRunReport(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := render(t, Build(readFixture(t))); !bytes.Equal(got, want) {
		t.Error("report.html differs from a render of the same run")
	}
	// A run stopped before its load leaves only summary.json: still a report.
	bare := t.TempDir()
	os.WriteFile(filepath.Join(bare, SummaryFile), []byte(`{"run_id":"r","verdict":"INTERRUPTED","reason":"interrupted"}`), 0o644)
	if err := WriteRunReport(bare); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunReport(t.TempDir()); err == nil {
		t.Error("a directory without summary.json gave no error")
	}
}

func TestTornLastLineIsIgnored(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SummaryFile), []byte(`{"run_id":"r","verdict":"INTERRUPTED"}`), 0o644)
	os.WriteFile(filepath.Join(dir, SecondsFile), []byte("{\"second\":0,\"aws_s\":10,\"phase\":\"a\",\"sent\":5}\n{\"second\":1,\"aws"), 0o644)
	r, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seconds) != 1 {
		t.Fatalf("%d seconds, want 1", len(r.Seconds))
	}
}

// TestCompare compares the fixture with a copy that scaled differently.
func TestCompare(t *testing.T) {
	a := readFixture(t)
	b := readFixture(t)
	b.Summary.RunID = "run-b"
	b.Summary.Verdict = "FAIL"
	b.Summary.Errors.HTTP5xx = a.Summary.Errors.HTTP5xx + 12
	for i := range b.Seconds {
		b.Seconds[i].InService = map[string]int{"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}
	}
	c := Compare(a, b)
	golden(t, "compare.golden.json", marshal(t, c))
	var text bytes.Buffer
	c.WriteText(&text)
	for _, want := range []string{"instance-hours", "HTTP 5xx", "+12", a.Summary.SLOs[0].Expr, "InService (since breach)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text table lacks %q:\n%s", want, text.String())
		}
	}
	var page bytes.Buffer
	if err := RenderCompare(&page, c); err != nil {
		t.Fatal(err)
	}
	selfContained(t, page.Bytes())
}
