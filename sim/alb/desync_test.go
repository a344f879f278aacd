package alb

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The classifications and reasons of AWS's desync mitigation, one row per
// reason the library documents
// (https://github.com/aws/http-desync-guardian/blob/master/docs/README.md,
// "Classification Reasons", which the ALB user guide's "Desync mitigation
// mode" section refers to).
func TestClassifyRequest(t *testing.T) {
	const get = "GET / HTTP/1.1\r\nHost: lb\r\n"
	const post = "POST / HTTP/1.1\r\nHost: lb\r\n"
	rows := []struct {
		name, head string
		class      Class
		reason     string
	}{
		{"a compliant GET", get + "\r\n", Compliant, ""},
		{"a compliant POST with Content-Length", post + "Content-Length: 5\r\n\r\n", Compliant, ""},
		{"a compliant chunked POST", post + "Transfer-Encoding: chunked\r\n\r\n", Compliant, ""},
		{"HTTP/2 is not classified", "GET / HTTP/2.0\r\nX: \x01\r\n\r\n", Compliant, ""},

		{"a control character in a header value", get + "X-A: a\x01b\r\n\r\n", Acceptable, ReasonNonCompliantHeader},
		{"a space in a header name", get + "X A: a\r\n\r\n", Acceptable, ReasonNonCompliantHeader},
		{"an unescaped space in the URI", "GET /a b HTTP/1.1\r\nHost: lb\r\n\r\n", Acceptable, ReasonSpaceInURI},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: lb\r\n\r\n", Acceptable, ReasonNonCompliantVersion},
		{"HTTP/0.9: no version", "GET /\r\n\r\n", Acceptable, ReasonNonCompliantVersion},
		{"GET with Content-Length: 0", get + "Content-Length: 0\r\n\r\n", Acceptable, ReasonGetHeadZeroContentLength},
		{"lines ended by LF alone", "GET / HTTP/1.1\nHost: lb\n\n", Acceptable, ReasonNonCrLfLineTermination},

		{"an empty header name", get + ": x\r\n\r\n", Ambiguous, ReasonEmptyHeader},
		{"a control character in the URI", "GET /a\x01 HTTP/1.1\r\nHost: lb\r\n\r\n", Ambiguous, ReasonAmbiguousURI},
		{"GET with a body length", get + "Content-Length: 5\r\n\r\n", Ambiguous, ReasonUndefinedContentLengthSemantics},
		{"GET with Transfer-Encoding", get + "Transfer-Encoding: chunked\r\n\r\n", Ambiguous, ReasonUndefinedTransferEncodingSemantics},
		{"HTTP/1.0 with Transfer-Encoding", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, ReasonUndefinedTransferEncodingSemantics},
		{"the same Content-Length twice", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", Ambiguous, ReasonDuplicateContentLength},
		{"both Content-Length and Transfer-Encoding", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Ambiguous, ReasonBothTeClPresent},
		{"Transfer_Encoding", post + "Transfer_Encoding: chunked\r\n\r\n", Ambiguous, ReasonSuspiciousHeader},
		{"Transfer-Encoding with a space before the colon", post + "Transfer-Encoding : chunked\r\n\r\n", Ambiguous, ReasonSuspiciousHeader},
		{"Transfer-Encoding with a dotless i", post + "Transfer-Encod\xc4\xb1ng: chunked\r\n\r\n", Ambiguous, ReasonSuspiciousHeader},
		{"Content_Length", post + "Content_Length: 5\r\n\r\n", Ambiguous, ReasonSuspiciousHeader},
		{"a folded header line", get + "X-A: a\r\n b\r\n\r\n", Ambiguous, ReasonMultilineHeader},
		{"a folded Content-Type is allowed", post + "Content-Type: text/plain;\r\n charset=utf-8\r\nContent-Length: 1\r\n\r\n", Compliant, ""},
		{"a header line without a colon", get + "X-A a\r\n\r\n", Ambiguous, ReasonMissingHeaderColon},
		{"no URI", "GET HTTP/1.1\r\nHost: lb\r\n\r\n", Ambiguous, ReasonMissingURI},

		{"NUL in a header value", get + "X-A: a\x00b\r\n\r\n", Severe, ReasonBadHeader},
		{"CR in a header value", get + "X-A: a\rb\r\n\r\n", Severe, ReasonBadHeader},
		{"NUL in the URI", "GET /a\x00 HTTP/1.1\r\nHost: lb\r\n\r\n", Severe, ReasonBadURI},
		{"a malformed version", "GET / HTTP/1.1x\r\nHost: lb\r\n\r\n", Severe, ReasonBadVersion},
		{"two different Content-Lengths", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", Severe, ReasonMultipleContentLength},
		{"a Content-Length that is no number", post + "Content-Length: 5a\r\n\r\n", Severe, ReasonBadContentLength},
		{"Transfer-Encoding: chunked twice", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, ReasonMultipleTransferEncodingChunked},
		{"an unknown Transfer-Encoding", post + "Transfer-Encoding: xchunked\r\n\r\n", Severe, ReasonBadTransferEncoding},
		{"a malformed method", "G(T / HTTP/1.1\r\nHost: lb\r\n\r\n", Severe, ReasonBadMethod},
		{"severe outranks ambiguous", post + "Content-Length: 5\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n", Severe, ReasonMultipleContentLength},
	}
	for _, r := range rows {
		got := ClassifyRequest([]byte(r.head))
		if got.Class != r.class || got.Reason != r.reason {
			t.Errorf("%s: %s %q, want %s %q", r.name, got.Class, got.Reason, r.class, r.reason)
		}
	}
}

// The ALB user guide's table of what each mode does with each class
// ("Desync mitigation mode"): monitor forwards all; defensive forwards
// compliant and acceptable, forwards ambiguous and then closes the client
// and target connections, blocks severe; strictest forwards only compliant.
func TestDesyncAction(t *testing.T) {
	want := map[string][4]Action{
		DesyncMonitor:   {Forward, Forward, Forward, Forward},
		DesyncDefensive: {Forward, Forward, ForwardThenClose, Block},
		DesyncStrictest: {Forward, Block, Block, Block},
	}
	for mode, acts := range want {
		for c, a := range acts {
			if got := DesyncAction(mode, Class(c)); got != a {
				t.Errorf("%s, %s: action %d, want %d", mode, Class(c), got, a)
			}
		}
	}
}

// desyncTarget is a real target that records each request's body and
// header, and counts its connections.
type desyncTarget struct {
	addr   netip.AddrPort
	mu     sync.Mutex
	seen   []*http.Request
	bodies []string
	closed atomic.Int64
}

func newDesyncTarget(t *testing.T) *desyncTarget {
	d := &desyncTarget{}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.seen, d.bodies = append(d.seen, r), append(d.bodies, string(b))
		d.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	s.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			d.closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	d.addr = netip.MustParseAddrPort(s.Listener.Addr().String())
	return d
}

func (d *desyncTarget) find(path string) (*http.Request, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, r := range d.seen {
		if r.URL.Path == path {
			return r, d.bodies[i]
		}
	}
	return nil, ""
}

func (d *desyncTarget) last() (*http.Request, string, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		return nil, "", 0
	}
	return d.seen[len(d.seen)-1], d.bodies[len(d.bodies)-1], len(d.seen)
}

// exchange sends raw on a new connection to the node and reads one answer;
// open says whether the connection still serves a compliant GET after it.
func exchangeRaw(t *testing.T, node string, raw string) (resp *http.Response, body string, open bool) {
	t.Helper()
	c, err := net.Dial("tcp", node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q: no answer: %v", raw, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := io.WriteString(c, "GET /next HTTP/1.1\r\nHost: lb\r\n\r\n"); err != nil {
		return resp, string(b), false
	}
	next, err := http.ReadResponse(br, nil)
	if err != nil {
		return resp, string(b), false
	}
	io.Copy(io.Discard, next.Body)
	next.Body.Close()
	return resp, string(b), next.StatusCode == 200
}

func readLog(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, parseAccessLine(t, l))
		}
	}
	return out
}

// TestDesyncMitigationModes runs one request of each class through a real
// node in each mode (ALB user guide, "Desync mitigation mode"; issue 19:
// a request with both Content-Length and Transfer-Encoding used to be
// forwarded as chunked with both connections kept). The severe request
// (Transfer-Encoding: chunked twice) is one Go's parser refuses: in
// monitor mode the node answers the ALB's 501 for an unsupported
// Transfer-Encoding, in the others the mode's 400.
func TestDesyncMitigationModes(t *testing.T) {
	const (
		compliant  = "GET /c HTTP/1.1\r\nHost: lb\r\n\r\n"
		acceptable = "GET /a HTTP/1.1\r\nHost: lb\r\nContent-Length: 0\r\n\r\n"
		ambiguous  = "POST /m HTTP/1.1\r\nHost: lb\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		severe     = "POST /s HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	)
	type want struct {
		code        int
		open        bool // the client connection serves the next request
		forwarded   bool
		targetClose bool // the target's connection was closed after it
	}
	modes := map[string][4]want{
		DesyncMonitor:   {{200, true, true, false}, {200, true, true, false}, {200, true, true, false}, {501, false, false, false}},
		DesyncDefensive: {{200, true, true, false}, {200, true, true, false}, {200, false, true, true}, {400, false, false, false}},
		DesyncStrictest: {{200, true, true, false}, {400, false, false, false}, {400, false, false, false}, {400, false, false, false}},
	}
	for mode, wants := range modes {
		t.Run(mode, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "access.log")
			f, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := newHarness(t, func(c *Config) { c.DesyncMitigationMode = mode; c.AccessLog = f })
			d := newDesyncTarget(t)
			h.register("i-a", "us-east-1a", d.addr)
			h.waitState("i-a", StateHealthy)
			node := h.lb.Nodes()[0]
			elb4xx := node.Metrics().HTTPCode_ELB_4XX_Count
			for i, raw := range []string{compliant, acceptable, ambiguous, severe} {
				w := wants[i]
				_, _, before := d.last()
				closedBefore := d.closed.Load()
				resp, body, open := exchangeRaw(t, node.addr.String(), raw)
				req, got, after := d.last()
				forwarded := after > before && req.URL.Path != "/next"
				if open { // the /next request came after it
					forwarded = after > before+1
				}
				if resp.StatusCode != w.code || open != w.open || forwarded != w.forwarded {
					t.Errorf("request %d: %d, open %v, forwarded %v; want %d, open %v, forwarded %v (%q)",
						i, resp.StatusCode, open, forwarded, w.code, w.open, w.forwarded, body)
				}
				if resp.StatusCode >= 400 && resp.Header.Get("Server") != "awselb/2.0" {
					t.Errorf("request %d: %d answered by %q, not the ELB", i, resp.StatusCode, resp.Header.Get("Server"))
				}
				if raw == ambiguous && forwarded {
					req, got = d.find("/m")
					if got != "abc" || req.Header.Get("Content-Length") != "" {
						t.Errorf("ambiguous request reached the target with body %q and Content-Length %q; want the chunked body and no Content-Length",
							got, req.Header.Get("Content-Length"))
					}
				}
				if w.targetClose {
					waitFor(t, "the target connection closes", func() bool { return d.closed.Load() > closedBefore })
				}
			}
			m := node.Metrics()
			if m.DesyncMitigationMode_NonCompliant_Request_Count != 3 {
				t.Errorf("DesyncMitigationMode_NonCompliant_Request_Count %d, want 3", m.DesyncMitigationMode_NonCompliant_Request_Count)
			}
			blocked := 0
			for _, w := range wants {
				if w.code >= 400 && w.code < 500 {
					blocked++
				}
			}
			if got := m.HTTPCode_ELB_4XX_Count - elb4xx; got != int64(blocked) {
				t.Errorf("HTTPCode_ELB_4XX_Count grew by %d, want %d", got, blocked)
			}
			h.lb.Close()
			classes := map[string]string{}
			for _, l := range readLog(t, logPath) {
				r := strings.Fields(l["request"])
				classes[r[1][strings.LastIndex(r[1], "/"):]] = l["classification"] + " " + l["classification_reason"]
			}
			for path, c := range map[string]string{"/c": "- -", "/a": "Acceptable GetHeadZeroContentLength",
				"/m": "Ambiguous BothTeClPresent", "/s": "Severe MultipleTransferEncodingChunked"} {
				if classes[path] != c {
					t.Errorf("access log of %s: classification %q, want %q (all: %v)", path, classes[path], c, classes)
				}
			}
		})
	}
}

// routing.http.drop_invalid_header_fields.enabled (ALB user guide, load
// balancer attributes): header names must match [-A-Za-z0-9]+; with the
// attribute on, others are removed before routing, off (the default) they
// reach the target.
func TestDropInvalidHeaderFields(t *testing.T) {
	const raw = "GET /h HTTP/1.1\r\nHost: lb\r\nX_Under: 1\r\nX-Dotted.Name: 2\r\nX-Ok: 3\r\n\r\n"
	for _, drop := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.DropInvalidHeaderFields = drop })
		d := newDesyncTarget(t)
		h.register("i-a", "us-east-1a", d.addr)
		h.waitState("i-a", StateHealthy)
		resp, _, open := exchangeRaw(t, h.lb.Nodes()[0].addr.String(), raw)
		if resp.StatusCode != 200 || !open {
			t.Fatalf("drop %v: %d, open %v", drop, resp.StatusCode, open)
		}
		d.mu.Lock()
		req := d.seen[len(d.seen)-2]
		d.mu.Unlock()
		_, under := req.Header["X_under"]
		_, dotted := req.Header["X-Dotted.name"]
		if under == drop || dotted == drop || req.Header.Get("X-Ok") != "3" {
			t.Errorf("drop %v: the target got %v", drop, req.Header)
		}
	}
	// A name Go's parser would refuse (a space) is dropped, not refused.
	h := newHarness(t, func(c *Config) { c.DropInvalidHeaderFields = true })
	d := newDesyncTarget(t)
	h.register("i-a", "us-east-1a", d.addr)
	h.waitState("i-a", StateHealthy)
	resp, _, _ := exchangeRaw(t, h.lb.Nodes()[0].addr.String(), "GET /h HTTP/1.1\r\nHost: lb\r\nBad Name: 1\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("a header named %q with drop_invalid_header_fields on: %d, want it dropped and 200", "Bad Name", resp.StatusCode)
	}
}

// Requests Go's server refuses before the node's handler sees them are
// still the ALB's: its error page, HTTPCode_ELB_4XX_Count and one access
// log line each (issue 19; ALB: "HTTPCode_ELB_4XX_Count: The number of
// HTTP 4XX client error codes that originate from the load balancer ...
// requests are malformed or incomplete").
func TestGoRejectedRequestsAreCountedAndLogged(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, func(c *Config) { c.AccessLog = f })
	d := newDesyncTarget(t)
	h.register("i-a", "us-east-1a", d.addr)
	h.waitState("i-a", StateHealthy)
	node := h.lb.Nodes()[0]
	rows := []struct {
		name, raw string
		code      int
		request   string // the access log's request field
	}{
		{"a malformed request line", "GARBAGE-GARBAGE-GARBAGE-GARBAGE\r\n\r\n", 400, "GARBAGE-GARBAGE-GARBAGE-GARBAGE http://-:0- -"}, // over h2c's 24-byte preface, which Go waits for
		{"a malformed header line", "GET /bad HTTP/1.1\r\nHost: lb\r\nNo colon here\r\n\r\n", 400, "GET http://-:0/bad HTTP/1.1"},
		{"a header over 64 K", "GET /big HTTP/1.1\r\nHost: lb\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", 431, "GET http://-:0/big HTTP/1.1"},
		{"a request line over 64 K", "GET /" + strings.Repeat("u", 70<<10) + " HTTP/1.1\r\nHost: lb\r\n\r\n", 414, ""},
	}
	before := node.Metrics().HTTPCode_ELB_4XX_Count
	for _, r := range rows {
		resp, body, open := exchangeRaw(t, node.addr.String(), r.raw)
		if resp.StatusCode != r.code || open || resp.Header.Get("Server") != "awselb/2.0" || !strings.Contains(body, "<center><h1>") {
			t.Errorf("%s: %d (%s), open %v, body %q; want the ELB's %d and the connection closed", r.name, resp.StatusCode, resp.Header.Get("Server"), open, body, r.code)
		}
	}
	if got := node.Metrics().HTTPCode_ELB_4XX_Count - before; got != int64(len(rows)) {
		t.Errorf("HTTPCode_ELB_4XX_Count grew by %d, want %d", got, len(rows))
	}
	if _, _, n := d.last(); n != 0 {
		t.Errorf("the target saw %d requests; want none", n)
	}
	h.lb.Close()
	lines := readLog(t, logPath)
	if len(lines) != len(rows) {
		t.Fatalf("%d access log lines, want %d", len(lines), len(rows))
	}
	for i, r := range rows {
		l := lines[i]
		if l["elb_status_code"] != itoa(r.code) || l["target:port"] != "-" || l["target_status_code"] != "-" || l["request_processing_time"] != "-1" {
			t.Errorf("%s: log line %v", r.name, l)
		}
		if r.request != "" && l["request"] != r.request {
			t.Errorf("%s: request %q, want %q", r.name, l["request"], r.request)
		}
	}
	if lines[1]["classification"] != "Ambiguous" || lines[1]["classification_reason"] != ReasonMissingHeaderColon {
		t.Errorf("the malformed header's classification %q %q", lines[1]["classification"], lines[1]["classification_reason"])
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
