package promexport

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/simplydone/lab/rundir"
)

// refHandler is the endpoint as it was before the gatherer: the Collector
// and the extra collectors in one pedantic registry, served by promhttp.
func refHandler(t testing.TB, src Source, extra ...prometheus.Collector) http.Handler {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range append([]prometheus.Collector{NewCollector(src)}, extra...) {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: maxScrapes, Timeout: 10 * time.Second})
}

type scrape struct {
	code                  int
	contentType, encoding string
	body                  string // decompressed
}

func (s scrape) String() string {
	return fmt.Sprintf("%d %q %q\n%s", s.code, s.contentType, s.encoding, s.body)
}

func scrapeOnce(t testing.TB, h http.Handler, url string, header http.Header) scrape {
	t.Helper()
	req := httptest.NewRequest("GET", "http://127.0.0.1"+url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	s := scrape{code: w.Code, contentType: w.Header().Get("Content-Type"), encoding: w.Header().Get("Content-Encoding")}
	body := w.Body.Bytes()
	if s.encoding == "gzip" {
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(r)
		}
		if err != nil {
			t.Errorf("gzip: %v", err) // not Fatal: concurrent scrapes call this too
		}
	}
	s.body = string(body)
	return s
}

// scrapeRequests are the scrapes the endpoint is compared on: curl's, the
// text format asked for, Prometheus's own (OpenMetrics preferred, which
// the endpoint does not offer; gzip), the protobuf format, a name filter.
var scrapeRequests = []struct {
	name   string
	url    string
	header http.Header
}{
	{"curl", "/metrics", http.Header{"Accept": {"*/*"}}},
	{"none", "/metrics", nil},
	{"text", "/metrics", http.Header{"Accept": {"text/plain;version=0.0.4"}}},
	{"prometheus", "/metrics", http.Header{
		"Accept":          {"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"},
		"Accept-Encoding": {"gzip"}}},
	{"protobuf", "/metrics", http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}}},
	{"filter", "/metrics?name[]=RequestCount&name[]=TargetGroup_HealthyHostCount&name[]=CPUUtilization", nil},
}

// The endpoint's handler answers every scrape with the same status,
// headers and bytes as the registry it replaced: one node and several,
// one target group and several, with and without the data tier's
// collector, and with an extra family named as one of the load
// balancer's (which the gatherer leaves to the registry).
func TestGathererMatchesTheRegistry(t *testing.T) {
	db := NewDBCollector(fakeDB{ok: true, s: rundir.DBSample{AWS: 60, Instances: []rundir.DBInstance{
		{Identifier: "web-db", Role: "primary", Zone: "us-east-1a", Metrics: map[string]float64{"CPUUtilization": 41.5, "DatabaseConnections": 20}},
		{Identifier: "web-db-standby", Role: "standby", Zone: "us-east-1b", Metrics: map[string]float64{"ReplicaLag": 0.25}},
	}}})
	// an unchecked collector (it describes nothing) whose family is one
	// of the Collector's: the registry merges the two
	clash := unchecked{prometheus.MustNewConstMetric(prometheus.NewDesc("RequestCount", nodeCounters[0].help, requestLabels, nil),
		prometheus.CounterValue, 7, "app/other/0", "", "elsewhere")}
	for _, sh := range []struct {
		zones, groups, targets int
		disturb                bool
	}{{1, 1, 2, false}, {3, 1, 12, false}, {3, 3, 30, false}, {2, 2, 1, false}, {3, 2, 12, true}} {
		f := newFixture(t, sh.zones, sh.groups, sh.targets)
		if sh.disturb {
			f.disturb(t)
		}
		for _, extra := range [][]prometheus.Collector{nil, {db}, {db, clash}} {
			name := fmt.Sprintf("nodes=%d/groups=%d/targets=%d/disturbed=%v/extra=%d", sh.zones, sh.groups, sh.targets, sh.disturb, len(extra))
			t.Run(name, func(t *testing.T) {
				got, err := newHandler(f.lb, extra...)
				if err != nil {
					t.Fatal(err)
				}
				ref := refHandler(t, f.lb, extra...)
				for _, r := range scrapeRequests {
					// twice, the second from the gatherer's reused
					// samples, between two of the registry's that agree
					// (the nodes' connection counts settle after the
					// fixture's traffic)
					var want scrape
					var mine [2]scrape
					deadline := time.Now().Add(5 * time.Second)
					for {
						want = scrapeOnce(t, ref, r.url, r.header)
						mine[0], mine[1] = scrapeOnce(t, got, r.url, r.header), scrapeOnce(t, got, r.url, r.header)
						if after := scrapeOnce(t, ref, r.url, r.header); after.String() == want.String() {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s: the registry's scrapes do not settle", r.name)
						}
						time.Sleep(10 * time.Millisecond)
					}
					for i, s := range mine {
						if s.String() != want.String() {
							t.Errorf("%s, scrape %d: the endpoint answered (-) not as the registry (+):\n%s", r.name, i+1, lineDiff(s.String(), want.String()))
						}
					}
					if want.code != 200 {
						t.Errorf("%s: %s", r.name, want)
					}
					if r.name == "curl" && !strings.Contains(want.body, "TargetGroup_RequestCount{") {
						t.Errorf("%s: the fixture has no target group counts:\n%s", r.name, want.body)
					}
				}
			})
		}
	}
}

type unchecked struct{ m prometheus.Metric }

func (unchecked) Describe(chan<- *prometheus.Desc)      {}
func (u unchecked) Collect(ch chan<- prometheus.Metric) { ch <- u.m }

// A scrape of the gatherer allocates a few times, not per sample.
func TestScrapeAllocationsDoNotGrowWithSamples(t *testing.T) {
	small := newFixture(t, 1, 1, 2)
	big := newFixture(t, 3, 3, 30)
	allocs := func(f *fixture) float64 {
		h, err := newHandler(f.lb)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "http://127.0.0.1/metrics", nil)
		w := &discardWriter{h: http.Header{}}
		return testing.AllocsPerRun(20, func() {
			clear(w.h)
			h.ServeHTTP(w, req)
		})
	}
	a, b := allocs(small), allocs(big)
	t.Logf("allocations per scrape: %.0f (1 node, 2 targets), %.0f (3 nodes, 3 groups, 30 targets)", a, b)
	if b > 2*a {
		t.Errorf("a scrape of 3 nodes, 3 groups and 30 targets allocates %.0f times, one of 1 node and 2 targets %.0f: per sample", b, a)
	}
}

// lineDiff is the lines of a not in b (-) and of b not in a (+).
func lineDiff(a, b string) string {
	in := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if mb[l] == 0 {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if ma[l] == 0 {
			out = append(out, "+ "+l)
		}
	}
	if len(out) == 0 {
		return "(the same lines, in another order)"
	}
	return strings.Join(out, "\n")
}

// Scrapes at once (the endpoint allows maxScrapes) each get a whole,
// consistent answer: the gatherer's reused families are one scrape's at a
// time.
func TestConcurrentScrapesAgree(t *testing.T) {
	f := newFixture(t, 3, 2, 12)
	h, err := newHandler(f.lb)
	if err != nil {
		t.Fatal(err)
	}
	// the nodes' connection counts move on their own (the fixture's
	// connections close when the nodes see them closed): not compared
	active := regexp.MustCompile(`(?m)^(ActiveConnectionCount\{[^}]*\}) \S+$`)
	masked := func(s scrape) string { return active.ReplaceAllString(s.String(), "$1 _") }
	want := masked(scrapeOnce(t, h, "/metrics", nil))
	if !strings.Contains(want, "ActiveConnectionCount{") || !strings.Contains(want, "TargetGroup_RequestCount{") {
		t.Fatalf("the fixture's scrape lacks series:\n%s", want)
	}
	const scrapers, each = maxScrapes, 50
	errs := make(chan string, scrapers)
	for i := 0; i < scrapers; i++ {
		go func() {
			for j := 0; j < each; j++ {
				if got := masked(scrapeOnce(t, h, "/metrics", nil)); got != want {
					errs <- lineDiff(got, want)
					return
				}
			}
			errs <- ""
		}()
	}
	for i := 0; i < scrapers; i++ {
		if d := <-errs; d != "" {
			t.Errorf("a concurrent scrape answered (-) not as one alone (+):\n%s", d)
		}
	}
}

// badGroup names a target group with a label value that is not UTF-8.
type badGroup struct{ noNodes }

func (badGroup) TargetGroupNames() []string { return []string{"web\xff"} }

// A label value that is not valid UTF-8 is left to the registry, which
// refuses it as before: the scrape fails (500) on both.
func TestInvalidLabelValueFailsAsBefore(t *testing.T) {
	h, err := newHandler(badGroup{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := scrapeOnce(t, h, "/metrics", nil), scrapeOnce(t, refHandler(t, badGroup{}), "/metrics", nil)
	if got.code != want.code || got.code != http.StatusInternalServerError {
		t.Errorf("scrape: %d, the registry's %d; want both 500\n%s", got.code, want.code, got.body)
	}
}
