package alb

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFastWriteMatchesRequestWrite checks the fast path's request writer
// byte for byte against http.Request.Write of the header map the node
// builds otherwise (outHeader), for the requests the fast writer takes,
// and that it declines the ones it does not.
func TestFastWriteMatchesRequestWrite(t *testing.T) {
	n := &Node{xfPort: []string{"80"}}
	tests := []struct {
		name   string
		raw    string
		remote string
		fast   bool
	}{
		{"plain GET", "GET /api/todos HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"query and user agent", "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: lb.example:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n", "10.0.0.1:5555", true},
		{"empty query kept out", "GET /a? HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"escaped path", "GET /a%2Fb/%7Ec HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"absolute form", "GET http://lb/x?q HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"prior X-Forwarded-For, twice", "GET / HTTP/1.1\r\nHost: lb\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\nX-Forwarded-For: 3.3.3.3\r\n\r\n", "10.0.0.1:5555", true},
		{"empty prior X-Forwarded-For", "GET / HTTP/1.1\r\nHost: lb\r\nX-Forwarded-For: \r\n\r\n", "10.0.0.1:5555", true},
		{"client's X-Forwarded headers replaced", "GET / HTTP/1.1\r\nHost: lb\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nX-Forwarded-Host: evil\r\nForwarded: for=x\r\n\r\n", "10.0.0.1:5555", true},
		{"hop-by-hop dropped", "GET / HTTP/1.1\r\nHost: lb\r\nConnection: keep-alive, X-Secret, user-agent\r\nX-Secret: 1\r\nUser-Agent: curl\r\nKeep-Alive: 5\r\nProxy-Authorization: x\r\nTe: trailers, deflate\r\nUpgrade-Insecure-Requests: 1\r\n\r\n", "10.0.0.1:5555", true},
		{"te without trailers", "GET / HTTP/1.1\r\nHost: lb\r\nTe: deflate\r\n\r\n", "10.0.0.1:5555", true},
		{"empty user agent", "GET / HTTP/1.1\r\nHost: lb\r\nUser-Agent: \r\n\r\n", "10.0.0.1:5555", true},
		{"many headers, repeated", "GET / HTTP/1.1\r\nHost: lb\r\nB: 2\r\nA: 1\r\nA: 0\r\nZ-Last: z\r\nC: 3\r\nX-Amzn-Trace-Id: Root=1-abc\r\nCookie: a=b; c=d\r\nAccept-Encoding: gzip\r\n\r\n", "10.0.0.1:5555", true},
		{"DELETE", "DELETE /todos/1 HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"POST without a body gets Content-Length 0", "POST /todos HTTP/1.1\r\nHost: lb\r\nContent-Length: 0\r\n\r\n", "10.0.0.1:5555", true},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"Expect dropped", "GET / HTTP/1.1\r\nHost: lb\r\nExpect: 100-continue\r\n\r\n", "10.0.0.1:5555", true},
		{"remote address without a port", "GET / HTTP/1.1\r\nHost: lb\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", "pipe", true},
		{"IPv6 client and host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "[::1]:5555", true},
		{"HTTP/1.0 client", "GET / HTTP/1.0\r\nHost: lb\r\n\r\n", "10.0.0.1:5555", true},
		{"with a body", "POST /todos HTTP/1.1\r\nHost: lb\r\nContent-Length: 2\r\n\r\n{}", "10.0.0.1:5555", false},
		{"chunked body", "POST /todos HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "10.0.0.1:5555", false},
		{"no Host", "GET / HTTP/1.0\r\n\r\n", "10.0.0.1:5555", false},
		{"non-ASCII Host", "GET / HTTP/1.1\r\nHost: b\xc3\xbccher.example\r\n\r\n", "10.0.0.1:5555", false},
		{"IPv6 zone in Host", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", "10.0.0.1:5555", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.raw)))
			if err != nil {
				t.Fatal(err)
			}
			in.RemoteAddr = tt.remote
			out := outbound(in, "127.0.0.1:9000")
			if got := canWriteFast(out); got != tt.fast {
				t.Fatalf("canWriteFast = %v, want %v", got, tt.fast)
			}
			if !tt.fast {
				return
			}
			var want, got bytes.Buffer
			slow := *out
			slow.Header = n.outHeader(in)
			if err := slow.Write(&want); err != nil {
				t.Fatal(err)
			}
			bw := bufio.NewWriter(&got)
			(&fwdRequest{in: in, n: n}).writeTo(bw, out)
			bw.Flush()
			if got.String() != want.String() {
				t.Errorf("fast writer sent\n%q\nhttp.Request.Write sends\n%q", got.String(), want.String())
			}
		})
	}
}

// outbound is the outbound copy forward makes of in.
func outbound(in *http.Request, target string) *http.Request {
	out := new(http.Request)
	*out = *in
	out.URL = &url.URL{Scheme: "http", Host: target, Path: in.URL.Path, RawPath: in.URL.RawPath, RawQuery: in.URL.RawQuery}
	out.RequestURI = ""
	out.Close = false
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	if in.ContentLength == 0 {
		out.Body = nil
	}
	return out
}
