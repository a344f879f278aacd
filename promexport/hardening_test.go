package promexport

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/alb"
)

type noNodes struct{}

func (noNodes) Nodes() []*alb.Node           { return nil }
func (noNodes) Dimension() string            { return "app/shop/0123456789abcdef" }
func (noNodes) TargetGroupDimension() string { return "targetgroup/shop/0123456789abcdef" }
func (noNodes) TargetGroupNames() []string   { return nil }
func (noNodes) TargetGroupCounts(name string) alb.TargetGroupCounts {
	return alb.TargetGroupCounts{Name: name}
}

func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	var code int
	fmt.Sscanf(string(b), "HTTP/1.1 %d", &code)
	return code, string(b)
}

// The endpoint listens on loopback only and serves its metrics alone: GET
// /metrics; any other path 404, another method 405, and a request whose
// Host is not a loopback address (a page on a rebound DNS name) 421
// (issue 19).
func TestEndpointServesOnlyItsMetrics(t *testing.T) {
	srv, err := Listen(noNodes{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.ln.Addr().String()
	if ip := srv.ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("listening on %s, not loopback", addr)
	}
	for _, r := range []struct {
		req  string
		code int
	}{
		{"GET /metrics HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 200},
		{"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200},
		{"GET / HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 404},
		{"GET /debug/pprof/ HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 404},
		{"POST /metrics HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405},
		{"GET /metrics HTTP/1.1\r\nHost: attacker.example:" + strings.Split(addr, ":")[1] + "\r\nConnection: close\r\n\r\n", 421},
	} {
		if code, b := rawRequest(t, addr, r.req); code != r.code {
			t.Errorf("%q: %d, want %d\n%s", strings.SplitN(r.req, "\r\n", 3)[:2], code, r.code, b)
		}
	}
}

// A flood of idle connections and of scrapes leaves the endpoint's
// goroutines and heap bounded, and it serves again once the flood ends.
func TestEndpointSurvivesAFlood(t *testing.T) {
	srv, err := Listen(noNodes{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.ln.Addr().String()
	baseG, baseHeap := settle()
	var maxG atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
				maxG.Store(g)
			}
		}
	}()
	var idle []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n") // a header never finished
		idle = append(idle, c)
	}
	for _, c := range idle {
		c.Close()
	}
	const scrapers, each = 8, 100
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := 0; i < scrapers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for j := 0; j < each; j++ {
				if resp, err := client.Get(srv.URL()); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						ok.Add(1)
					}
				}
			}
			client.CloseIdleConnections()
		}()
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	_, afterHeap := settle()
	// at most maxConns connections served, their reader goroutines, the scrapers' clients
	if grew := maxG.Load() - int64(baseG); grew > 2*maxConns+3*scrapers+16 {
		t.Errorf("goroutines rose by %d (from %d to %d); want them bounded", grew, baseG, maxG.Load())
	}
	if grew := int64(afterHeap) - int64(baseHeap); grew > 16<<20 {
		t.Errorf("heap grew by %d bytes; want it bounded", grew)
	}
	if ok.Load() == 0 {
		t.Error("no scrape succeeded during the flood")
	}
	t.Logf("%d idle connections, %d scrapes (%d ok): goroutines %d -> max %d; heap %d KiB -> %d KiB",
		len(idle), scrapers*each, ok.Load(), baseG, maxG.Load(), baseHeap>>10, afterHeap>>10)
	resp, err := http.Get(srv.URL())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the flood: %v %v", resp, err)
	}
	resp.Body.Close()
}

func settle() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
