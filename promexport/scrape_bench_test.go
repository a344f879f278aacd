package promexport

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing, so that a
// benchmark counts the endpoint's work and not a recorder's buffer.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

var scrapeShapes = []struct{ zones, groups, targets int }{
	{1, 1, 2},  // bench/alb.sh's albnode: one node, two backends
	{3, 1, 12}, // a stack of one service over three zones
	{3, 3, 30}, // three services
}

// BenchmarkScrape is one scrape through the endpoint's handler (the
// gather, the text format, the write), as curl asks (no compression) and
// as Prometheus asks (gzip).
func BenchmarkScrape(b *testing.B) {
	for _, sh := range scrapeShapes {
		f := newFixture(b, sh.zones, sh.groups, sh.targets)
		h, err := newHandler(f.lb)
		if err != nil {
			b.Fatal(err)
		}
		for _, enc := range []string{"identity", "gzip"} {
			b.Run(fmt.Sprintf("nodes=%d/groups=%d/targets=%d/%s", sh.zones, sh.groups, sh.targets, enc), func(b *testing.B) {
				req := httptest.NewRequest("GET", "http://127.0.0.1/metrics", nil)
				req.Header.Set("Accept", "*/*")
				if enc == "gzip" {
					req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.1,*/*;q=0.05")
					req.Header.Set("Accept-Encoding", "gzip")
				}
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != 0 && w.code != 200 || w.n == 0 {
					b.Fatalf("scrape: %d, %d bytes", w.code, w.n)
				}
				b.SetBytes(int64(w.n))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}

// BenchmarkScrapeHTTP is one scrape over loopback TCP on a fresh
// connection each time, as bench/alb.sh's curl does once a second: the
// endpoint's whole cost (accept, the HTTP server, the handler) plus the
// client's, in this one process.
func BenchmarkScrapeHTTP(b *testing.B) {
	sh := scrapeShapes[0]
	f := newFixture(b, sh.zones, sh.groups, sh.targets)
	srv, err := Listen(f.lb)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := client.Get(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("scrape: %s", resp.Status)
		}
	}
}

// BenchmarkScrapeServerCPU is the CPU time this process (the endpoint, and
// the load balancer it reads) spends on one scrape by curl on a fresh
// connection, as bench/alb.sh scrapes: user and system time over b.N
// scrapes by one curl process (Connection: close, so one connection each),
// divided by b.N. curl's own time is its process's, not counted.
func BenchmarkScrapeServerCPU(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("no curl")
	}
	sh := scrapeShapes[0]
	f := newFixture(b, sh.zones, sh.groups, sh.targets)
	srv, err := Listen(f.lb)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	var cfg strings.Builder
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&cfg, "url = %q\noutput = \"/dev/null\"\n", srv.URL())
	}
	list := filepath.Join(b.TempDir(), "curl.cfg")
	if err := os.WriteFile(list, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	before := cpuTime(b)
	b.ResetTimer()
	out, err := exec.Command(curl, "-fsS", "-H", "Connection: close", "-K", list).CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("curl: %v\n%s", err, out)
	}
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/scrape")
}

// cpuTime is this process's user and system time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
