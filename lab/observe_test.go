package lab

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/alb"
)

// A running lab can be watched from outside: its Prometheus endpoint (URL
// in the run directory and announced on the console) counts the requests,
// and its access log has one line per request once the lab has closed.
func TestRunCanBeWatchedFromOutside(t *testing.T) {
	s := testStack(t, 18483)
	var announced []string
	l, err := Start(context.Background(), Options{Stack: s, Speed: 20, Seed: 7, RunsDir: t.TempDir(), StateDir: t.TempDir(),
		Driver: DriverProcess, Subscribers: []events.Handler{func(e events.Envelope) {
			if m, ok := e.Event.(MetricsEndpoint); ok {
				announced = append(announced, m.URL)
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.waitReady(context.Background(), 5*time.Minute); err != nil { // instances are pending first
		t.Fatal(err)
	}
	for _, in := range l.Instances() {
		waitFor(t, string(in.ID)+" healthy", 20*time.Second, func() bool { return everyNodeSees(l.LB, in.ID, alb.StateHealthy) })
	}
	b, err := os.ReadFile(filepath.Join(l.Dir, rundir.PrometheusFile))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(b))
	if url != l.MetricsURL() || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("prometheus.url %q, lab says %q", url, l.MetricsURL())
	}
	const n = 5
	for i := 0; i < n; i++ {
		if code, _ := servedBy(t, l.EntryURLs()[0]); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	total := 0.0
	for _, m := range regexp.MustCompile(`(?m)^RequestCount\{[^}]*LoadBalancer="app/itest/[0-9a-f]+"[^}]*\} (\S+)$`).FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		total += v
	}
	if total != n {
		t.Fatalf("RequestCount over the nodes %v, want %d:\n%s", total, n, body)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(announced) != 1 || announced[0] != url {
		t.Errorf("announced %v, want the endpoint once", announced)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, rundir.PrometheusFile)); !os.IsNotExist(err) {
		t.Errorf("prometheus.url outlived the run: %v", err)
	}
	log, err := os.ReadFile(filepath.Join(l.Dir, rundir.AccessLogFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(log), `"GET http://`); got != n {
		t.Fatalf("%d access-log lines for %d requests:\n%s", got, n, log)
	}
}
