package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/simplydone/lab/scenarios"
)

// TestWritesWithPerHostStores: on a stack whose zones run on agents, a
// scenario with an SLO on lost_writes is refused before the run starts
// (a stack given apart from the scenario file, as --stack does, is not
// checked by the scenario's validation), and the summary says the writes
// were not checked instead of counting another host's writes as lost.
func TestWritesWithPerHostStores(t *testing.T) {
	st := agentStack(t, 18623)
	sc, err := scenarios.Parse("sale.yaml", []byte("name: sale\nstack: simplydone\nload:\n  phases: [{duration: 1m, rate: 5}]\nslos:\n  - success_rate >= 99%\n  - lost_writes == 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = refuseUnmeasured(sc, st)
	var pe *PreflightError
	want := `sale.yaml: slos[1]: "lost_writes == 0" cannot be judged with stack itest: writes are not checked across hosts: zones run on other hosts (us-east-1b on agent 127.0.0.1:7459), each keeping its own SimplyDone store`
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("refuse: %v\nwant a preflight error starting:\n%s", err, want)
	}
	if _, err := Run(t.Context(), RunOptions{Scenario: sc, Stack: st, RunsDir: t.TempDir(), StateDir: t.TempDir()}); !errors.As(err, &pe) {
		t.Errorf("Run: %v, want the preflight error before anything starts", err)
	}
	sc.SLOs = sc.SLOs[:1]
	if err := refuseUnmeasured(sc, st); err != nil {
		t.Errorf("success_rate alone: %v", err)
	}

	sum := &Summary{AcknowledgedWrites: 42, LostWrites: 0, CheckedReads: 33, StaleReads: 7}
	notCheckedAcrossHosts(sum, scenarios.PerHostStores(st))
	var b strings.Builder
	sum.WriteText(&b)
	if sum.CheckedReads != 0 || sum.StaleReads != 0 || !strings.Contains(b.String(), "writes: 42 acknowledged, not checked across hosts (zones run on other hosts (us-east-1b on agent 127.0.0.1:7459)") ||
		strings.Contains(b.String(), "lost") {
		t.Errorf("summary %+v says:\n%s", sum, b.String())
	}
	one := &Summary{AcknowledgedWrites: 3}
	notCheckedAcrossHosts(one, scenarios.PerHostStores(nil))
	if one.WritesNotChecked != "" {
		t.Errorf("a stack on one host: %q", one.WritesNotChecked)
	}
}
