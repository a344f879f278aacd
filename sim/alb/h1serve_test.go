package alb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The front (h1serve.go) answers what net/http's server answers. Each
// request goes once through the front and once through net/http (an extra
// Pragma header line sends its connection there), and the two answers
// must be the same bytes but for Date.
func TestFrontAnswersAsNetHTTP(t *testing.T) {
	h := newHarness(t, scaled(nil))
	big := strings.Repeat("b", 100<<10)
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "hello") // Content-Length and Content-Type from the target's server
		case "/sniff":
			w.Header()["Content-Type"] = nil // no Content-Type at all: the node's server sniffs
			io.WriteString(w, "<html><body>hi</body></html>")
		case "/big":
			io.WriteString(w, big)
		case "/chunked": // streamed: the node streams it on, chunked
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("c", 3000))
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Sum", "42")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(http.StatusNotModified)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		case "/hangup": // the target closes the connection without an answer: 502
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		case "/418":
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
		case "/599":
			w.WriteHeader(599)
		case "/echo":
			b, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d %q %v", r.ContentLength, b, err)
		}
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	addr := h.lb.Nodes()[0].addr.String()
	for _, req := range []string{
		"GET /small HTTP/1.1\r\nHost: lb\r\n",
		"GET /sniff?q=1 HTTP/1.1\r\nHost: lb\r\nUser-Agent: test\r\n",
		"GET /big HTTP/1.1\r\nHost: lb\r\nAccept: */*\r\n",
		"GET /chunked HTTP/1.1\r\nHost: lb\r\n",
		"GET /trailer HTTP/1.1\r\nHost: lb\r\nTe: trailers\r\n",
		"GET /204 HTTP/1.1\r\nHost: lb\r\n",
		"GET /304 HTTP/1.1\r\nHost: lb\r\n",
		"GET /close HTTP/1.1\r\nHost: lb\r\n",
		"GET /hangup HTTP/1.1\r\nHost: lb\r\n",
		"DELETE /418 HTTP/1.1\r\nHost: lb\r\nX-Forwarded-For: 10.0.0.1\r\n",
		"GET /599 HTTP/1.1\r\nHost: lb\r\n",
		"GET /small HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n",
		"OPTIONS /small HTTP/1.1\r\nHost: lb\r\nConnection: keep-alive\r\n",
	} {
		front := answerOf(t, addr, req+"\r\n")
		netHTTP := answerOf(t, addr, req+"Pragma: no-cache\r\nCache-Control: no-cache\r\n\r\n")
		if front != netHTTP {
			t.Errorf("%q:\nfront:    %q\nnet/http: %q", req, front, netHTTP)
		}
	}
	// bodies: the front reads them (a Content-Length), net/http the same
	body := strings.Repeat("x", 70<<10)
	for _, req := range []struct{ head, body string }{
		{"POST /echo HTTP/1.1\r\nHost: lb\r\nContent-Length: 5\r\n", "hello"},
		{"PUT /echo HTTP/1.1\r\nHost: lb\r\nContent-Length: 0\r\n", ""},
		{"POST /echo HTTP/1.1\r\nHost: lb\r\nContent-Length: 71680\r\n", body},
		{"POST /small HTTP/1.1\r\nHost: lb\r\nContent-Length: 71680\r\n", body}, // the target reads none of it
	} {
		front := answerOf(t, addr, req.head+"\r\n"+req.body)
		netHTTP := answerOf(t, addr, req.head+"Pragma: no-cache\r\nCache-Control: no-cache\r\n\r\n"+req.body)
		if front != netHTTP {
			t.Errorf("%q:\nfront:    %.300q\nnet/http: %.300q", req.head, front, netHTTP)
		}
	}
}

// answerOf sends req on a new connection and returns the answer as it
// came (its Date masked), up to the connection's end or, on a connection
// kept open, the end of a second answer to a request that closes it.
func answerOf(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// a second request closes the connection, so the whole of the first
	// answer is what came before the second's
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s|", resp.Proto, resp.Status)
	resp.Header.Del("Date")
	resp.Header.Write(&raw)
	fmt.Fprintf(&raw, "|cl=%d te=%v close=%v|", resp.ContentLength, resp.TransferEncoding, resp.Close)
	body, err := io.ReadAll(resp.Body)
	fmt.Fprintf(&raw, "%q err=%v trailer=%v", body, err, resp.Trailer)
	return raw.String()
}

// A connection keeps its id and its count when the front hands it to
// net/http, and requests on it go on being served in order.
func TestFrontHandsOffAConnectionWhole(t *testing.T) {
	h := newHarness(t, scaled(nil))
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, b)
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	before := n.Metrics().NewConnectionCount
	c, err := net.Dial("tcp", n.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// three requests at once: the second (a chunked body) takes the connection to net/http
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: lb\r\n\r\nPOST /2 HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: lb\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{`GET /1 ""`, `POST /2 "abc"`, `GET /3 ""`} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer to %s: %v", want, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	if got := n.Metrics().NewConnectionCount - before; got != 1 {
		t.Errorf("NewConnectionCount rose by %d, want 1", got)
	}
}

// Requests with bodies, pipelined, are served in order on one connection;
// a body that stalls for the idle timeout is 408.
func TestFrontBodies(t *testing.T) {
	h := newHarness(t, scaled(nil))
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, b)
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	c, err := net.Dial("tcp", n.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /1 HTTP/1.1\r\nHost: lb\r\nContent-Length: 3\r\n\r\nabcPOST /2 HTTP/1.1\r\nHost: lb\r\nContent-Length: 2\r\n\r\ndeGET /3 HTTP/1.1\r\nHost: lb\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{`POST /1 "abc"`, `POST /2 "de"`, `GET /3 ""`} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer to %s: %v", want, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	// half a body, then nothing: 408 once the idle timeout (60 AWS s, 0.6 s here) has passed
	io.WriteString(c, "POST /4 HTTP/1.1\r\nHost: lb\r\nContent-Length: 10\r\n\r\nabc")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("a stalled body: %d, want 408", resp.StatusCode)
	}
}

// A client that goes away while the target has not answered ends the
// request: the node counts it as 460 in HTTPCode_ELB_4XX_Count and cuts
// the target's connection, as with net/http's server.
func TestFrontClientGoneIs460(t *testing.T) {
	h := newHarness(t, scaled(nil))
	release := make(chan struct{})
	gone := make(chan struct{})
	arrived := make(chan struct{})
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			select {
			case <-r.Context().Done(): // the node cut the connection
				close(gone)
			case <-release:
			}
		}
	})
	defer close(release)
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	c, err := net.Dial("tcp", n.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: lb\r\n\r\n")
	waitFor(t, "the request routed", func() bool { return n.Metrics().RequestCount == 1 })
	select { // routed is not yet at the target: a client gone before is not this test's case
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the target")
	}
	c.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the target's connection was not cut")
	}
	waitFor(t, "460 counted", func() bool { return n.Metrics().HTTPCode_ELB_4XX_Count == 1 })
}

// The front's request parser: whatever it takes, Go's parser takes too,
// with the same fields, and the desync mitigation's classifier classifies
// it as the front does (the fuzz test's corpus runs as a unit test).
func FuzzFrontParse(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /p/a.b-c_d~e$f&g+h,i/j:k;l=m@n?x=1&y=%20#z HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: x\r\nAccept: a\r\nAccept: b\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /x? HTTP/1.1\r\nhost: a\r\nx-lower: 1\r\nConnection: Keep-Alive\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nX:  spaced \t\r\nY:\r\n\r\n",
		"GET /%41 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET //a HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n",
		"get / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n\r\n",
		// what the desync mitigation finds in headers the front takes
		"GET / HTTP/1.1\r\nHost: lb\r\nContent-Length: 0\r\n\r\n",
		"GET /a?b HTTP/1.1\r\nHost: lb\r\ncontent-length: 4\r\nTransferEncoding: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: lb\r\nContentLength: 2\r\nContent-Length: 2\r\n\r\n",
		"PUT /p HTTP/1.1\r\nHost: lb\r\nX-Content-Length: 2\r\nTransfer-Encoding-X: 1\r\nX: \x80\t\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := headEnd(raw)
		if end <= 0 {
			return
		}
		c := &frontConn{remote: "192.0.2.1:1234"}
		c.req0 = (&http.Request{}).WithContext(context.Background())
		got, ok := c.parse(raw[:end])
		if !ok {
			return
		}
		if v := ClassifyRequest(raw[:end]); c.verdict != v {
			t.Fatalf("the front classifies %q as %+v, the desync mitigation as %+v", raw[:end], c.verdict, v)
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw[:end])))
		if err != nil {
			t.Fatalf("the front takes %q, Go refuses it: %v", raw[:end], err)
		}
		if want.ContentLength != got.ContentLength || (want.Body == http.NoBody) != (got.Body == http.NoBody) {
			t.Fatalf("%q: Go sees a body of %d, the front %d", raw[:end], want.ContentLength, got.ContentLength)
		}
		if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Proto != want.Proto ||
			got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor || got.Host != want.Host ||
			got.Close != want.Close || *got.URL != *want.URL || !reflect.DeepEqual(got.Header, want.Header) ||
			len(got.TransferEncoding) != 0 {
			t.Fatalf("%q:\nfront %+v %+v\ngo    %+v %+v", raw[:end], got, got.URL, want, want.URL)
		}
	})
}

// The lean response reader: whatever it takes, http.ReadResponse reads
// alike.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 599 whatever it says\r\ncontent-length: 1\r\nx: \t v \r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := &http.Request{Method: "GET"}
		end := bytes.Index(raw, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		got, ok := parseResponse(raw[:end], req)
		if !ok {
			return
		}
		want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), req)
		if err != nil {
			t.Fatalf("the lean reader takes %q, Go refuses it: %v", raw, err)
		}
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.Proto != want.Proto ||
			got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor || got.Close != want.Close ||
			got.ContentLength != want.ContentLength || len(want.TransferEncoding) != 0 || want.Trailer != nil ||
			!reflect.DeepEqual(got.Header, want.Header) {
			t.Fatalf("%q:\nlean %+v\ngo   %+v", raw, got, want)
		}
	})
}

// A front connection reuses its request, header maps, forwarding records
// and access-log record from one request to the next: each request still
// reaches the target with its own headers only, each answer carries its
// own headers only, and each log line has its own fields.
func TestFrontReuseKeepsRequestsApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, scaled(func(c *Config) { c.AccessLog = f }))
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Path", r.URL.Path)
		w.Header().Set("X-Seen-Only-First", r.Header.Get("X-Only-First"))
		if r.URL.Path == "/1" {
			w.Header().Set("X-Answer-Only-First", "yes")
		}
		w.Header().Set("X-Seen-XFF", r.Header.Get("X-Forwarded-For"))
		io.WriteString(w, "body of "+r.URL.Path)
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	c, err := net.Dial("tcp", n.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: lb\r\nUser-Agent: first/1\r\nX-Only-First: 1\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n")
	r1, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := io.ReadAll(r1.Body)
	io.WriteString(c, "GET /2 HTTP/1.1\r\nHost: lb\r\nUser-Agent: second/2\r\n\r\n")
	r2, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	if string(b1) != "body of /1" || string(b2) != "body of /2" {
		t.Fatalf("bodies %q, %q", b1, b2)
	}
	if r1.Header.Get("X-Seen-Only-First") != "1" || r1.Header.Get("X-Answer-Only-First") != "yes" ||
		!strings.HasPrefix(r1.Header.Get("X-Seen-XFF"), "10.1.1.1, 127.") {
		t.Fatalf("first answer's header: %v", r1.Header)
	}
	if r2.Header.Get("X-Seen-Path") != "/2" || r2.Header.Get("X-Seen-Only-First") != "" ||
		r2.Header.Get("X-Answer-Only-First") != "" || !strings.HasPrefix(r2.Header.Get("X-Seen-XFF"), "127.") {
		t.Fatalf("the second answer carries the first's: %v", r2.Header)
	}
	if err := h.lb.Close(); err != nil { // flushes the log
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), raw)
	}
	for i, want := range []struct{ ua, path string }{{"first/1", "/1"}, {"second/2", "/2"}} {
		l := parseAccessLine(t, lines[i])
		if l["user_agent"] != want.ua || !strings.HasSuffix(strings.Fields(l["request"])[1], want.path) || l["elb_status_code"] != "200" {
			t.Errorf("line %d: user_agent %q request %q status %s", i, l["user_agent"], l["request"], l["elb_status_code"])
		}
	}
}
