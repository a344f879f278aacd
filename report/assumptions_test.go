package report

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/internal/figures"
)

// The figures a run relied on that AWS does not document are in the report,
// each with its kind and source (issue: "say in the report which figures
// are documented by AWS and which are observed or assumed").
func TestReportListsWhatTheVerdictStandsOn(t *testing.T) {
	r := readFixture(t)
	if html := string(render(t, Build(r))); strings.Contains(html, "What this verdict stands on") {
		t.Error("a run without figures shows the section")
	}
	r.Summary.Assumptions = []figures.Figure{
		{Name: "CloudWatch publication delay, AWS/EC2", Value: "2m0s", Kind: figures.Observed, Source: "https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/"},
		{Name: "CloudWatch publication delay, AWS/ApplicationELB", Value: "3m0s", Kind: figures.Setting, Source: "cloudwatch.publication_delay.AWS/ApplicationELB"},
	}
	rep := Build(r)
	if len(rep.Assumptions) != 2 {
		t.Fatalf("model has %d assumptions, want 2", len(rep.Assumptions))
	}
	html := string(render(t, rep))
	for _, want := range []string{"What this verdict stands on", "<td>CloudWatch publication delay, AWS/EC2</td><td>2m0s</td><td>observed</td>",
		"<td>3m0s</td><td>setting</td>", "cloud-metric-delay"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
