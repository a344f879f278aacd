package alb

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// fwdRequest is the fast path's outbound request: instead of a header map
// built per request, the request line and headers are written straight to
// the target connection's buffer from the client's request, with the
// X-Forwarded headers added on the way. The bytes are the ones
// http.Request.Write would send for the same request with outHeader's map
// (the same headers, sorted by name, cleaned alike). It takes only
// requests without a body whose Host needs no rewriting; the others are
// written by http.Request.Write.
type fwdRequest struct {
	up *upstream
	in *http.Request // the client's request
	n  *Node
	// timed is the node's timedTransport around this one: the chain
	// lives in the one allocation
	timed timedTransport
	// start is the wall time timed read as it called this one, for the
	// upstream's own use (one clock read for both); zero: read it
	start time.Time
}

// RoundTrip is the upstream's, writing the request with writeTo.
func (f *fwdRequest) RoundTrip(r *http.Request) (*http.Response, error) {
	return f.up.roundTrip(r, f)
}

// canWriteFast says whether out (the outbound copy of in) is one the fast
// writer takes.
func canWriteFast(out *http.Request) bool {
	if out.Body != nil || out.ContentLength != 0 || len(out.TransferEncoding) > 0 || out.Close || out.Method == "" || out.Method == "CONNECT" {
		return false
	}
	if !plainHost(out.Host) {
		return false
	}
	for i := 0; i < len(out.URL.RawQuery); i++ {
		if c := out.URL.RawQuery[i]; c < 0x20 || c == 0x7f {
			return false // http.Request.Write refuses it
		}
	}
	return true
}

// plainHost is a Host that http.Request.Write sends unchanged: ASCII
// letters, digits and the characters of names, ports and IPv6 literals.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

type hdrLine struct {
	key  string
	vals []string
}

// writeTo writes out's request line and headers, with in's header as the
// node forwards it (outHeader), to bw.
func (f *fwdRequest) writeTo(bw *bufio.Writer, out *http.Request) {
	in := f.in
	bw.WriteString(out.Method)
	bw.WriteByte(' ')
	p := out.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	bw.WriteString(p)
	if out.URL.ForceQuery || out.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(out.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(out.Host)
	bw.WriteString("\r\n")

	var dropped []string // the headers in's Connection names
	for _, c := range in.Header["Connection"] {
		for _, t := range strings.Split(c, ",") {
			if t = strings.TrimSpace(t); t != "" {
				dropped = append(dropped, http.CanonicalHeaderKey(t))
			}
		}
	}
	if ua := in.Header["User-Agent"]; len(ua) > 0 && !slices.Contains(dropped, "User-Agent") {
		if v := cleanValue(ua[0]); v != "" {
			bw.WriteString("User-Agent: ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if out.Method == "POST" || out.Method == "PUT" || out.Method == "PATCH" { // as http.Request.Write
		bw.WriteString("Content-Length: 0\r\n")
	}

	var buf [24]hdrLine
	lines := buf[:0]
	for k, vs := range in.Header {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer", "Transfer-Encoding", "Upgrade", // hop by hop
			"Forwarded", "X-Forwarded-Host", "Expect", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port",
			"Host", "User-Agent", "Content-Length": // written apart, or not at all
			continue
		}
		if len(dropped) > 0 && slices.Contains(dropped, k) {
			continue
		}
		lines = append(lines, hdrLine{k, vs})
	}
	if hasToken(in.Header["Te"], "trailers") {
		lines = append(lines, hdrLine{"Te", teTrailers})
	}
	client, _, err := net.SplitHostPort(in.RemoteAddr)
	if err == nil {
		lines = append(lines, hdrLine{key: "X-Forwarded-For"}) // its value is composed below
	}
	lines = append(lines, hdrLine{"X-Forwarded-Proto", xfProto}, hdrLine{"X-Forwarded-Port", f.n.xfPort})
	slices.SortFunc(lines, func(a, b hdrLine) int { return strings.Compare(a.key, b.key) })
	for _, l := range lines {
		if !validFieldName(l.key) {
			continue // as http.Header.Write
		}
		if l.vals == nil { // X-Forwarded-For: the prior hops, then the client
			bw.WriteString("X-Forwarded-For: ")
			if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
				b := make([]byte, 0, 128)
				for _, v := range prior {
					b = append(b, v...)
					b = append(b, ", "...)
				}
				b = append(b, client...)
				bw.Write(cleanBytes(b))
			} else {
				bw.WriteString(cleanValue(client)) // the client's address alone
			}
			bw.WriteString("\r\n")
			continue
		}
		for _, v := range l.vals {
			bw.WriteString(l.key)
			bw.WriteString(": ")
			bw.WriteString(cleanValue(v))
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
}

// cleanValue is v as http.Header.Write sends it: line breaks become spaces,
// surrounding space goes.
func cleanValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

func cleanBytes(b []byte) []byte {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// validFieldName is httpguts.ValidHeaderFieldName: a non-empty token.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
