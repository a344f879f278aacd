package alb

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// forward proxies r through tr (the view's transport chain) to target on
// the node's fast path: the outbound request is a shallow copy with its own
// header map, the response is copied with a pooled buffer, and nothing else
// is allocated per request that the exchange needs. Upgrades (WebSocket)
// take httputil.ReverseProxy instead (node.ServeHTTP). Behaviour is the
// reverse proxy's: hop-by-hop
// headers dropped both ways, X-Forwarded-For/-Proto/-Port set, the
// client's Host kept, Expect answered by the node, trailers passed on,
// streamed bodies flushed as they come, a body cut short aborts the
// client's response.
//
// closeTarget closes the target's connection after this exchange (desync
// mitigation's answer to an ambiguous request).
func (n *Node) forward(w http.ResponseWriter, r *http.Request, tr http.RoundTripper, fp *fastPath, closeTarget bool) {
	rec := frontOf(r.Context()).records() // nil: not the front's, each record is new
	var out *http.Request
	var u *url.URL
	if rec != nil {
		out, u = &rec.out, &rec.url
	} else {
		out, u = new(http.Request), new(url.URL)
	}
	*out = *r // the context too: the exchange, when logging
	*u = url.URL{Scheme: "http", Host: fp.target, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out.URL = u
	out.RequestURI = ""
	out.Close = closeTarget
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	if r.ContentLength == 0 {
		out.Body = nil
	} else if out.Body != nil {
		out.Body = io.NopCloser(out.Body) // the server closes the client's body itself
	}
	var resp *http.Response
	var err error
	if fr := fp.writer(n, out, r, rec); fr != nil {
		// the chain as it is with no fault active, writing the headers
		// straight to the target's connection
		if fp.o != nil {
			resp, err = outcomeTransport{next: &fr.timed, o: fp.o}.RoundTrip(out)
		} else {
			resp, err = fr.timed.RoundTrip(out)
		}
	} else {
		out.Header = n.outHeader(r)
		resp, err = tr.RoundTrip(out)
	}
	if err != nil {
		n.proxyError(w, out, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	dropHopByHop(resp.Header)
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength == -1 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if err := copyBody(w, resp.Body, stream); err != nil {
		if r.Context().Err() == nil {
			panic(http.ErrAbortHandler) // the target cut the body short: so is the client's
		}
		return
	}
	resp.Body.Close() // now, to read the trailers
	for k, vs := range resp.Trailer {
		h[http.TrailerPrefix+k] = vs
	}
}

// fastPath is what the fast path needs of a view's transport chain
// (anomaly detection's outcomeTransport around the node's timedTransport,
// its faultTransport and the upstream), found once when the target is
// registered rather than on every request.
type fastPath struct {
	target string
	group  string
	m      *Metrics
	g      *groupStats // the target's group's counts (groups.go)
	up     *upstream
	o      *outcomes // nil: no anomaly detection in the chain
}

// newFastPath finds the fast path's parts in n's chain tr; nil for a chain
// the fast path does not know, which then always takes tr as it is.
func newFastPath(n *Node, tr http.RoundTripper) *fastPath {
	fp := &fastPath{}
	if o, ok := tr.(outcomeTransport); ok {
		fp.o, tr = o.o, o.next
	}
	tt, ok := tr.(timedTransport)
	if !ok {
		return nil
	}
	ft, ok := tt.rt.(faultTransport)
	if !ok || ft.n != n {
		return nil
	}
	up, ok := ft.next.(*upstream)
	if !ok || up.addr != tt.target {
		return nil
	}
	fp.target, fp.group, fp.m, fp.g, fp.up = tt.target, tt.group, tt.m, tt.g, up
	return fp
}

// writer is the fast writer for out when no fault is active and the fast
// writer takes the request; nil otherwise (the chain then runs as it is).
func (fp *fastPath) writer(n *Node, out, in *http.Request, rec *fwdRecords) *fwdRequest {
	if n.lb.faults.active.Load() != nil || !canWriteFast(out) {
		return nil
	}
	var fr *fwdRequest
	if rec != nil {
		fr = &rec.fr
	} else {
		fr = new(fwdRequest)
	}
	*fr = fwdRequest{up: fp.up, in: in, n: n}
	fr.timed = timedTransport{fr, fp.m, fp.target, fp.group, fp.g}
	return fr
}

// outHeader is the request header a target gets.
func (n *Node) outHeader(r *http.Request) http.Header {
	in := r.Header
	out := make(http.Header, len(in)+4)
	for k, vs := range in {
		out[k] = vs // values are shared, never changed
	}
	dropHopByHop(out)
	if hasToken(in["Te"], "trailers") {
		out["Te"] = teTrailers
	}
	delete(out, "Forwarded")
	delete(out, "X-Forwarded-Host")
	delete(out, "Expect") // the node answers 100-continue itself
	if client, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := in["X-Forwarded-For"]; len(prior) > 0 {
			client = strings.Join(prior, ", ") + ", " + client
		}
		out["X-Forwarded-For"] = []string{client}
	} else {
		delete(out, "X-Forwarded-For")
	}
	out["X-Forwarded-Proto"] = xfProto
	out["X-Forwarded-Port"] = n.xfPort
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = noUserAgent // not Go's own
	}
	return out
}

var (
	teTrailers  = []string{"trailers"}
	noUserAgent = []string{""}
)

// hopByHop are the headers that belong to one connection (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func dropHopByHop(h http.Header) {
	for _, c := range h["Connection"] {
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				delete(h, http.CanonicalHeaderKey(f))
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

func hasToken(vs []string, token string) bool {
	for _, v := range vs {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// isUpgrade says whether r asks to switch protocols (WebSocket).
func isUpgrade(r *http.Request) bool {
	_, ok := r.Header["Upgrade"]
	return ok
}

// copyBody copies the target's body to the client with a pooled buffer,
// flushing after each write when the body is streamed.
func copyBody(w http.ResponseWriter, body io.Reader, stream bool) error {
	buf := buffers.Get().(*[bufferSize]byte)
	defer buffers.Put(buf)
	var flush func() error
	if stream {
		rc := http.NewResponseController(w)
		flush = rc.Flush
	}
	for {
		nr, rerr := body.Read(buf[:])
		if nr > 0 {
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return werr
			}
			if flush != nil {
				if err := flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// fwdRecords are what forwarding one request takes: the outbound request,
// its URL, the fast writer, the target's response and its body. A front
// connection has its own, reused from one request to the next: its
// requests are served one at a time, the front's response writer writes
// the header out when the handler calls WriteHeader, and nothing keeps
// these past the request. net/http's server may write the header after
// the handler returns, so its requests' records are each new.
type fwdRecords struct {
	out   http.Request
	url   url.URL
	fr    fwdRequest
	body  upBody
	resp  http.Response
	rh    http.Header
	rvals []string
}

// records is the front connection's forwarding records; nil for nil.
func (c *frontConn) records() *fwdRecords {
	if c == nil {
		return nil
	}
	return &c.fwd
}
