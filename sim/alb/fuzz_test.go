package alb

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// FuzzRequest feeds raw bytes to a node as a client's request, over a real
// connection to a real target. Whatever arrives, the node must not panic,
// and once the client has gone every goroutine and connection the exchange
// made must be gone too (the node's idle connections to the target are
// closed first, so they do not count). As a plain test it runs the seeds.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: lb\r\n\r\n",
		"GET /a?b=c HTTP/1.0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: lb\r\nContent-Length: 5\r\n\r\nhello",
		"POST /p HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: lb\r\nContent-Length: 10\r\n\r\nshort",
		"POST /p HTTP/1.1\r\nHost: lb\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
		"GET / HTTP/1.1\r\nHost: lb\r\n\r\nGET /2 HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: lb\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: lb\r\nConnection: X-A, close\r\nX-A: 1\r\nTe: trailers\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
		"GET / HTTP/1.1\r\nHost: lb\r\nX-Big: " + strings.Repeat("x", 17<<10) + "\r\n\r\n",
		"GET /" + strings.Repeat("p", 17<<10) + " HTTP/1.1\r\nHost: lb\r\n\r\n",
		"GARBAGE\r\n\r\n",
		// desync mitigation's classes (desync.go): ambiguous, severe, LF line ends, a folded header
		"POST /p HTTP/1.1\r\nHost: lb\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: lb\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET / HTTP/1.1\nHost: lb\nX-A: a\n b\n\n",
		"GET / HTTP/1.1\r\nHost: lb\r\nTransfer_Encoding: chunked\r\nX_Y: 1\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", // a TLS ClientHello on the HTTP port
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h := newHarness(f, nil)
	a := backend(f, "a", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	n := h.lb.Nodes()[0]
	addr := n.addr.String()
	if resp, err := http.Get(n.URL() + "/"); err != nil || resp.StatusCode != 200 {
		f.Fatalf("warm-up: %v", err)
	} else {
		resp.Body.Close()
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	settle := func(tb testing.TB) {
		tb.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n.transport.closeIdleNow()
			m := n.Metrics()
			if m.ActiveConnectionCount == 0 {
				return
			}
			if time.Now().After(deadline) {
				tb.Fatalf("connections left open: %d", m.ActiveConnectionCount)
			}
			time.Sleep(time.Millisecond)
		}
	}
	settle(f)

	f.Fuzz(func(t *testing.T, raw []byte) {
		settle(t)
		baseline := runtime.NumGoroutine() // the test's own goroutines included
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(raw)
		c.(*net.TCPConn).CloseWrite() // the client has said all it will say
		io.Copy(io.Discard, c)
		c.Close()
		settle(t)
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > baseline {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// FuzzClientStream: the client connection's stream follower (clientconn.go)
// hands Go exactly the bytes the client sent, however they are split
// across reads, when no header is dropped; what it still holds is the
// unfinished last line. The classifier never panics.
func FuzzClientStream(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: lb\r\n\r\n",
		"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
		"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, split uint16) {
		c := &clientConn{}
		k := int(split) % (len(raw) + 1)
		c.scan(raw[:k])
		c.scan(raw[k:])
		got := append(append([]byte(nil), c.out...), c.line...)
		if string(got) != string(raw) {
			t.Fatalf("Go would read %q, the client sent %q", got, raw)
		}
		ClassifyRequest(raw)
	})
}
