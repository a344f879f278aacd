package alb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/internal/fdlimit"
)

// The node's own HTTP/1.1 server (the front), in front of net/http's.
//
// net/http's server costs more per request than the proxying itself (its
// per-request goroutine for the background read, context and response
// allocations, the chunk writer); the front serves the common request in
// a lean loop and hands everything else to net/http. Each client
// connection starts on the front, which reads it raw and classifies each
// header it takes for desync mitigation itself (parse); clientconn.go
// follows, classifies and cleans the bytes of a connection once it is
// handed to net/http. The front's reader reads request headers into one
// buffer and parses the ones it takes: HTTP/1.1, a method other
// than CONNECT, HEAD and PRI, an origin-form target whose path needs no
// escaping, one plain Host, header lines of token names and printable
// values ending in CRLF, no body or one Content-Length (no
// Transfer-Encoding), no Expect, Upgrade, TE, Trailer, Keep-Alive,
// Proxy-Connection or Pragma, and a Connection of keep-alive or close.
// Such a request becomes an *http.Request as Go's parser would make it and
// is served by the node's own handler (Node.ServeHTTP, the same one
// net/http calls) with a response writer that writes what net/http's would
// (status line, the handler's header sorted, Date, Content-Length or
// chunked, Content-Type sniffed, Connection: close). At the first request
// it does not take (or a header larger than its buffer, or anything odd),
// the connection goes to net/http for good, with the bytes read so far
// replayed first: every limit, error answer and protocol net/http handles
// (h2c, upgrades, bodies, 100-continue, 414/431/400/501/505 through
// clientconn.go) is served as before.
//
// Each connection's requests are served one after the other on its own
// goroutine. A request that runs longer than watchAfter gets a watcher,
// as net/http's background read: a client that goes away cancels the
// request's context (the proxy then answers 460 and cuts the target's
// connection). A pipelined request waits for the answer before it.
//
// Trade-off: a client that goes away within watchAfter (5 ms wall) of its
// request is seen when its answer is written, not at once; net/http's
// server watches from the start, at a goroutine switch and a read per
// request.

// frontBuf is the front's read buffer per connection: a request header
// that does not fit goes to net/http.
const frontBuf = 4 << 10

// front is one node's HTTP/1.1 front: its accept loop and its connections.
type front struct {
	n    *Node
	ln   net.Listener           // the node's clientListener
	hand chan net.Conn          // connections handed to net/http
	once sync.Once              // starts the accept loop
	loop atomic.Pointer[evLoop] // the event loop under the front (evloop_linux.go); nil: none

	mu     sync.Mutex
	conns  map[*frontConn]struct{}
	closed bool
	done   chan struct{} // closed with the front
	idle   *sync.Cond    // signalled when a connection ends (wait)
}

func newFront(n *Node, ln net.Listener) *front {
	f := &front{n: n, ln: ln, hand: make(chan net.Conn), conns: map[*frontConn]struct{}{}, done: make(chan struct{})}
	f.idle = sync.NewCond(&f.mu)
	return f
}

// handoffListener is what net/http's server serves: the connections the
// front hands over. Its first Accept starts the front's accept loop; its
// Close closes the node's listener and the front's idle connections
// (busy ones close after their answer).
type handoffListener struct{ f *front }

func (l handoffListener) Accept() (net.Conn, error) {
	f := l.f
	f.once.Do(func() {
		if !f.n.lb.cfg.GoroutineFront {
			if l, err := newEvLoop(f); err != nil {
				f.n.lb.errorLog.Printf("alb: no event loop, the goroutine front serves all: %v", err)
			} else if l != nil {
				f.loop.Store(l) // ends once the front has closed and its connections have ended
			}
		}
		go f.acceptLoop() // ends when the listener closes
	})
	select {
	case c := <-f.hand:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

func (l handoffListener) Close() error {
	err := l.f.ln.Close()
	l.f.close(false)
	return err
}

func (l handoffListener) Addr() net.Addr { return l.f.ln.Addr() }

func (f *front) acceptLoop() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			fdlimit.Note(err)                                                      // the lab's own process out of descriptors is counted
			if ne, ok := err.(net.Error); ok && (ne.Timeout() || ne.Temporary()) { //nolint:staticcheck // as net/http's Serve: out of descriptors, wait and retry
				time.Sleep(5 * time.Millisecond)
				continue
			}
			f.close(false)
			return
		}
		cc := clientConnOf(c)
		if cc == nil { // not the node's own listener: net/http serves it all
			f.handoff(c)
			continue
		}
		if l := f.loop.Load(); l != nil && l.accept(cc) {
			continue // the event loop serves it (evloop_linux.go)
		}
		fc := f.newConn(cc)
		if fc == nil {
			cc.Close()
			continue
		}
		go fc.serve() // ends when the connection closes or is handed off
	}
}

// close stops the front: idle connections close now, busy ones after
// their answer; with hard, busy ones close now too.
func (f *front) close(hard bool) {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
	conns := make([]*frontConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	if l := f.loop.Load(); l != nil {
		l.post(func() {}) // the loop sees the front closed
	}
	for _, c := range conns {
		if hard || !c.busy.Load() {
			c.cc.Close()
		} else {
			c.closing.Store(true)
		}
	}
}

// wait waits until the front's connections have ended, or ctx has; then
// it closes the rest.
func (f *front) wait(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.idle.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	f.mu.Lock()
	for len(f.conns) > 0 && ctx.Err() == nil {
		f.idle.Wait()
	}
	f.mu.Unlock()
	if ctx.Err() != nil {
		f.close(true)
	}
}

// handoff gives c to net/http's server.
func (f *front) handoff(c net.Conn) {
	select {
	case f.hand <- c:
	case <-f.done:
		c.Close()
	}
}

// handedConn is a connection the front handed to net/http: what the front
// had read of it comes first (clientConn.handedOver). ConnContext keeps its connection record, and
// ConnState does not count it again.
type handedConn struct {
	*clientConn
	ci *connInfo
}

// frontConn is one client connection on the front.
type frontConn struct {
	f      *front
	n      *Node
	cc     *clientConn
	ci     *connInfo
	ctx    context.Context
	cancel context.CancelFunc
	req0   *http.Request // carries ctx: each request is a copy
	remote string
	idle   time.Duration // wall

	buf  [frontBuf]byte
	r, w int // buf[r:w] is read, not yet taken

	busy    atomic.Bool // a request is being served
	closing atomic.Bool // the connection ends after this answer
	gone    atomic.Bool // the client went away while a request was served

	// the watcher (watch): started when a request takes longer than
	// watchAfter, it reads the client's side meanwhile
	timer    *time.Timer
	wmu      sync.Mutex
	inReq    bool          // a request is being served; false ends the watch
	watching bool          // a watcher is reading
	wdone    chan struct{} // closed when the watcher has stopped reading
	armed    bool          // the watch of this request is armed
	body     frontBody     // the request's body, if it has one
	resp     frontResponse
	cut      cutSlot // the target connection the request is using (cuthook.go)

	// The request being served, its parts and its access-log record: the
	// connection's own, reused from one request to the next (requests are
	// served one at a time and nothing keeps them past their answer).
	req  http.Request
	url  url.URL
	hdr  http.Header
	vals []string
	ex   exchange
	fwd  fwdRecords // forwarding's (proxy.go)
	// verdict is the desync mitigation's classification of the request
	// header parse took (what ClassifyRequest makes of it).
	verdict Verdict
}

func (f *front) newConn(cc *clientConn) *frontConn {
	n := f.n
	ci := &connInfo{id: n.connIDs.Add(1), opened: n.lb.cfg.Clock.Now(), cc: cc}
	cc.id = ci.id
	cc.front = true // read raw: the front parses and classifies (parse)
	ctx, cancel := context.WithCancel(context.Background())
	c := &frontConn{f: f, n: n, cc: cc, ci: ci, cancel: cancel, remote: cc.RemoteAddr().String(),
		idle: cc.idle}
	c.ctx = &frontCtx{Context: ctx, ci: ci, fc: c}
	c.req0 = (&http.Request{}).WithContext(c.ctx)
	if n.lb.access != nil { // each request's exchange is the connection's own (claimExchange)
		c.ex.Context = c.ctx
		c.req0 = c.req0.WithContext(&c.ex)
	}
	c.resp.c = c
	c.resp.bw.init(cc)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		cancel()
		return nil
	}
	f.conns[c] = struct{}{}
	n.metrics.NewConnectionCount.Add(1)
	n.metrics.clientConns.Add(1)
	return c
}

// serve reads the connection's request headers and serves the ones the
// front takes, one after the other; at the first it does not take, it
// hands the connection to net/http.
func (c *frontConn) serve() {
	handed := false
	defer func() {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.cancel()
		c.f.mu.Lock()
		delete(c.f.conns, c)
		c.f.idle.Broadcast()
		c.f.mu.Unlock()
		if !handed {
			c.cc.Close()
			c.n.metrics.clientConns.Add(-1)
		}
	}()
	headArmed := false // the deadline for this header to end is set
	answered := false  // an answer has just gone out
	if c.idle > 0 {
		c.cc.idleRead() // later ones are set after each answer
	}
	for {
		if c.closing.Load() {
			c.linger()
			return
		}
		if c.gone.Load() || c.f.isClosed() {
			return
		}
		if end := headEnd(c.buf[c.r:c.w]); end > 0 {
			r, ok := c.parse(c.buf[c.r : c.r+end])
			if !ok {
				handed = c.handoff()
				return
			}
			c.r += end
			if c.r == c.w {
				c.r, c.w = 0, 0
			}
			headArmed = false
			c.handle(r)
			answered = true
			continue
		} else if end < 0 || c.r == 0 && c.w == len(c.buf) {
			handed = c.handoff() // not a request the front takes, or too long for its buffer
			return
		}
		if c.r > 0 { // room for the rest of the header
			c.w = copy(c.buf[:], c.buf[c.r:c.w])
			c.r = 0
		}
		if c.w > 0 && !headArmed && c.idle > 0 {
			// a header has begun: it has the idle timeout to end
			// (net/http's ReadHeaderTimeout)
			c.cc.idleRead()
			headArmed = true
		}
		if answered {
			// the client cannot have sent its next request yet: let the
			// node's other work run first, so that the read finds it
			// there more often than not (a read that finds nothing costs
			// a system call and a wait on the poller)
			runtime.Gosched()
			answered = false
		}
		k, err := c.cc.Read(c.buf[c.w:])
		c.w += k
		if err != nil {
			return // the idle timeout, or the client closed
		}
	}
}

// watchAfter is how long (wall) a request runs before the front watches
// its client's side: a client that goes away sooner is seen when its
// answer is written, rather than at once (net/http's server reads in the
// background from the start, at a goroutine and a read per request).
const watchAfter = 5 * time.Millisecond

// watch reads the client's side while a request is served, as net/http's
// background read: a client that goes away ends the request's context
// (460, and the target's connection cut); the first bytes of a pipelined
// request end the watch.
func (c *frontConn) watch() {
	c.wmu.Lock()
	if !c.inReq {
		c.wmu.Unlock()
		return
	}
	c.watching = true
	done := make(chan struct{})
	c.wdone = done
	c.wmu.Unlock()
	defer close(done)
	for {
		k, err := c.cc.Read(c.buf[c.w:])
		c.w += k // the serving goroutine reads c.w only after unwatch
		if k > 0 {
			return
		}
		if err == nil {
			continue
		}
		c.wmu.Lock()
		if !c.inReq { // unwatch cut the read short
			c.wmu.Unlock()
			return
		}
		if isTimeout(err) { // a long answer: the idle timeout starts over
			c.cc.idleRead()
			c.wmu.Unlock()
			continue
		}
		c.wmu.Unlock()
		c.gone.Store(true)
		c.cut.clientGone() // the target's connection is cut
		c.cancel()         // the client went away mid-request: it ends (460)
		return
	}
}

// unwatch ends the watch of a request that has been answered.
func (c *frontConn) unwatch() {
	c.timer.Stop()
	c.wmu.Lock()
	c.inReq = false
	watching, done := c.watching, c.wdone
	c.watching = false
	c.wmu.Unlock()
	if watching {
		c.cc.SetReadDeadline(aLongTimeAgo)
		<-done
	}
}

// linger reads what the client still sends after the answer that closes
// the connection, for a moment, so that closing does not reset it before
// the client has read the answer (net/http waits alike).
func (c *frontConn) linger() {
	if !c.closing.Load() {
		return
	}
	c.cc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var scratch [512]byte
	for {
		if _, err := c.cc.Read(scratch[:]); err != nil {
			return
		}
	}
}

func (f *front) isClosed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// handoff gives the connection to net/http, with what was read of it;
// false when the front is closing (the connection is closed instead).
func (c *frontConn) handoff() bool {
	if c.f.isClosed() {
		return false
	}
	c.cc.SetReadDeadline(time.Time{})
	c.cc.handedOver(c.buf[c.r:c.w]) // followed and classified from here on (clientconn.go)
	h := &handedConn{clientConn: c.cc, ci: c.ci}
	c.f.handoff(h)
	return true
}

// handle serves one request.
func (c *frontConn) handle(r *http.Request) {
	w := &c.resp
	w.reset(r)
	c.cc.fv = c.verdict // the handler takes it (clientConn.take)
	c.busy.Store(true)
	c.armed = false
	if r.ContentLength == 0 && c.w == 0 { // nothing pipelined after it: watch the client if it takes long
		c.arm()
	}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.n.lb.errorLog.Printf("http: panic serving %v: %v", c.remote, p)
			}
			w.abort()
			c.closing.Store(true)
		}
		if c.armed {
			c.unwatch()
		}
		switch {
		case c.gone.Load():
		case c.closing.Load():
			if tc, ok := c.cc.Conn.(interface{ CloseWrite() error }); ok {
				tc.CloseWrite()
			}
		case c.idle > 0:
			c.cc.idleRead() // idle from the answer on
		}
		c.busy.Store(false)
	}()
	c.n.ServeHTTP(w, r)
	if r.ContentLength > 0 && !c.body.discard() {
		// a body the handler left unread, too long to read past (or cut
		// short): the connection cannot carry another request
		c.closing.Store(true)
		if !w.wrote {
			w.h["Connection"] = []string{"close"}
		}
	}
	if w.finish() != nil || w.closeAfter || c.f.isClosed() {
		c.closing.Store(true)
	}
}

// arm starts the watch of the request being served: the watcher reads the
// client's side if the request runs longer than watchAfter.
func (c *frontConn) arm() {
	c.armed = true
	c.wmu.Lock()
	c.inReq = true
	c.wmu.Unlock()
	if c.timer == nil {
		c.timer = time.AfterFunc(watchAfter, c.watch)
	} else {
		c.timer.Reset(watchAfter)
	}
}

// frontBody is a request's Content-Length body: what the front's buffer
// holds of it, then the connection (clientconn.go sets its per-read
// deadline, and a body that stalls for the idle timeout is 408).
type frontBody struct {
	c    *frontConn
	left int64
	err  error
}

func (b *frontBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	c := b.c
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	var n int
	if c.r < c.w {
		n = copy(p, c.buf[c.r:c.w])
		c.r += n
	} else {
		var err error
		n, err = c.cc.bodyRead(p)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
		}
	}
	b.left -= int64(n)
	if b.left == 0 {
		if c.r == c.w {
			c.r, c.w = 0, 0
			if !c.armed { // the body has all come: watch the client from now on, as net/http does
				c.arm()
			}
		}
		return n, io.EOF
	}
	return n, b.err
}

func (b *frontBody) Close() error { return nil }

// discard reads what the handler left of the body, as net/http's server
// does, up to 256 KiB; false when more is left or the body ended early.
func (b *frontBody) discard() bool {
	if b.left > 256<<10 {
		return false
	}
	if b.left > 0 {
		io.Copy(io.Discard, b)
	}
	return b.left == 0 && b.err == nil
}

// headEnd is the length of the request header at the start of b, its
// empty line included; 0 when it has not all come; -1 when b starts with
// an empty line or a bare LF appears (net/http takes those).
func headEnd(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		if bytes.IndexByte(b, '\n') >= 0 && bytes.Contains(b, []byte("\n\n")) || len(b) > 0 && b[0] == '\n' {
			return -1
		}
		return 0
	}
	return i + 4
}

// parse makes the *http.Request Go's server would make of head, when it
// is one the front takes.
func (c *frontConn) parse(head []byte) (*http.Request, bool) {
	for i, b := range head { // CRLF line ends only, no control bytes
		if b == '\n' && (i == 0 || head[i-1] != '\r') || b == '\r' && (i+1 == len(head) || head[i+1] != '\n') ||
			b < 0x20 && b != '\r' && b != '\n' && b != '\t' || b == 0x7f {
			return nil, false
		}
	}
	s := string(head[:len(head)-4]) // one allocation: every field is a part of it
	line, rest, _ := strings.Cut(s, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	uri, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !frontMethod(method) || !frontURI(uri) {
		return nil, false
	}
	lines := 0
	if rest != "" {
		lines = strings.Count(rest, "\r\n") + 1
	}
	h := c.hdr
	if h == nil {
		h = make(http.Header, lines)
		c.hdr = h
	} else {
		clear(h)
	}
	if cap(c.vals) < lines {
		c.vals = make([]string, lines) // one backing array for the values, as textproto's
	}
	vals := c.vals[:lines]
	clear(vals)
	host, hosts := "", 0
	closeReq := false
	var verdict Verdict
	clen := int64(-1)
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(l, ":")
		if !ok || !frontName(name) {
			return nil, false
		}
		if len(name) >= len("contentlength") && similarName(name) { // 13 letters at least
			// the desync mitigation's only finding a header the front
			// takes can raise by its name (desync.go, analyse)
			verdict.raise(Ambiguous, ReasonSuspiciousHeader)
		}
		value = textproto.TrimString(value)
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Host":
			host, hosts = value, hosts+1
			continue
		case "Content-Length": // a body the front reads (frontBody)
			if clen >= 0 || value == "" {
				return nil, false
			}
			n, err := strconv.ParseUint(value, 10, 63)
			if err != nil {
				return nil, false
			}
			clen = int64(n)
		case "Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Connection", "Pragma", "Http2-Settings":
			return nil, false
		case "Connection":
			switch {
			case strings.EqualFold(value, "close"):
				closeReq = true
			case strings.EqualFold(value, "keep-alive"):
			default:
				return nil, false
			}
		}
		if vs, ok := h[key]; ok {
			h[key] = append(vs, value)
			continue
		}
		vals[0] = value
		h[key] = vals[:1:1]
		vals = vals[1:]
	}
	if hosts != 1 || !plainHost(host) {
		return nil, false
	}
	if clen >= 0 && method == "GET" { // desync.go, bodyHeaders: one valid Content-Length, no Transfer-Encoding
		if clen == 0 {
			verdict.raise(Acceptable, ReasonGetHeadZeroContentLength)
		} else {
			verdict.raise(Ambiguous, ReasonUndefinedContentLengthSemantics)
		}
	}
	c.verdict = verdict
	u := &c.url
	*u = url.URL{Path: uri}
	if p, q, ok := strings.Cut(uri, "?"); ok {
		u.Path, u.RawQuery, u.ForceQuery = p, q, q == ""
	}
	if c.req0.Context() == &c.ex {
		c.ex = exchange{Context: c.ctx} // not yet claimed
	}
	r := &c.req
	*r = *c.req0 // the connection's context
	r.Method, r.URL, r.Proto, r.ProtoMajor, r.ProtoMinor = method, u, proto, 1, 1
	r.Header, r.Host, r.RemoteAddr, r.RequestURI = h, host, c.remote, uri
	r.Body, r.Close = http.NoBody, closeReq
	if clen > 0 {
		c.body = frontBody{c: c, left: clen}
		r.Body, r.ContentLength = &c.body, clen
	}
	return r, true
}

// similarName says whether a header name the front takes (letters,
// digits and hyphens, checked by frontName) is one the desync
// mitigation finds suspicious: the same letters as Transfer-Encoding or
// Content-Length without being either (desync.go, analyse).
func similarName(name string) bool {
	b := []byte(name)
	te := similarity(b, "transfer-encoding")
	if te == identical {
		return false
	}
	if te == sameLetters {
		return true
	}
	return similarity(b, "content-length") == sameLetters
}

// frontMethod is a method the front takes: upper-case letters, not one
// with its own rules.
func frontMethod(m string) bool {
	if m == "" || len(m) > 16 || m == "CONNECT" || m == "HEAD" || m == "PRI" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

// frontURI is an origin-form target whose path url.URL keeps as it came
// (no escaping either way, so RawPath stays empty), with a printable
// query.
func frontURI(u string) bool {
	if len(u) == 0 || u[0] != '/' {
		return false
	}
	i := 0
	for ; i < len(u) && u[i] != '?'; i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~$&+,/:;=@", c) >= 0) {
			return false
		}
	}
	for ; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// frontName is a header name of letters, digits and hyphens.
func frontName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// frontResponse is the front's http.ResponseWriter: what net/http's
// writes for an HTTP/1.1 request, as lean as it goes. The header is
// written as the handler had it at WriteHeader; a body up to 2 KiB is
// held, so that a handler that ends within it gets a Content-Length; a
// longer one, or a flush, without a Content-Length is chunked.
type frontResponse struct {
	c          *frontConn
	r          *http.Request
	h          http.Header
	bw         connWriter
	status     int
	wrote      bool // WriteHeader called: head holds the status line and header
	committed  bool // the header is on its way to the client
	chunked    bool
	bodyOK     bool  // the status allows a body
	clen       int64 // the handler's Content-Length; -1: none
	written    int64
	haveType   bool
	hasCE      bool
	hasDate    bool
	teIdentity bool
	trailers   []string // declared in Trailer
	closeAfter bool
	connClose  bool // write "Connection: close" among the extras
	head       []byte
	aw         appendWriter // appendHeader's
	held       []byte       // body not yet written
	err        error
}

// bufferBeforeChunking is net/http's: a body that ends within it gets a
// Content-Length.
const bufferBeforeChunking = 2048

func (w *frontResponse) reset(r *http.Request) {
	w.r = r
	if w.h == nil {
		w.h = make(http.Header, 8)
	} else {
		clear(w.h)
	}
	w.status, w.wrote, w.committed, w.chunked, w.bodyOK = 0, false, false, false, false
	w.clen, w.written, w.haveType, w.hasCE, w.hasDate, w.teIdentity = -1, 0, false, false, false, false
	w.trailers, w.closeAfter, w.connClose, w.err = w.trailers[:0], false, false, nil
	w.head, w.held = w.head[:0], w.held[:0]
}

func (w *frontResponse) Header() http.Header { return w.h }

func (w *frontResponse) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// informational: written now, the final answer follows
		b := appendStatusLine(w.head[:0], code)
		b = w.appendHeader(b, w.h, nil)
		b = append(b, "\r\n"...)
		w.bw.write(b)
		w.err = w.bw.flush()
		return
	}
	w.wrote, w.status = true, code
	h := w.h
	w.bodyOK = code >= 200 && code != 204 && code != 304
	exclude := excludeTE
	var extra map[string]bool
	del := func(k string) {
		if _, ok := h[k]; !ok {
			return
		}
		if extra == nil {
			extra = map[string]bool{"Transfer-Encoding": true}
		}
		extra[k] = true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			del(k)
		}
	}
	for _, v := range h["Trailer"] {
		for _, f := range strings.Split(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(f))
			}
		}
	}
	te := first(h, "Transfer-Encoding")
	w.teIdentity = te == "identity"
	if cl := first(h, "Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(textproto.TrimString(cl), 10, 64); err == nil && n >= 0 {
			w.clen = n
		}
	}
	_, w.haveType = h["Content-Type"]
	w.hasCE = first(h, "Content-Encoding") != ""
	_, w.hasDate = h["Date"]
	if !w.bodyOK {
		del("Content-Length")
		if code == 304 {
			del("Content-Type")
		}
	}
	if te != "" && w.clen >= 0 && !w.teIdentity {
		del("Content-Length")
		w.clen = -1
	}
	w.closeAfter = w.r.Close || first(h, "Connection") == "close" || w.teIdentity && w.clen < 0 && w.bodyOK
	if w.closeAfter && !hasToken(h["Connection"], "close") {
		del("Connection")
		w.connClose = true
	}
	if extra != nil {
		exclude = extra
	}
	w.head = appendStatusLine(w.head[:0], code)
	w.head = w.appendHeader(w.head, h, exclude)
}

var excludeTE = map[string]bool{"Transfer-Encoding": true}

func first(h http.Header, k string) string {
	if vs := h[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	if text := http.StatusText(code); text != "" {
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, ' ')
		b = append(b, text...)
		b = append(b, "\r\n"...)
	} else {
		b = fmt.Appendf(b, "%03d status code %d\r\n", code, code)
	}
	return b
}

// appendHeader appends h as http.Header.WriteSubset writes it.
func (w *frontResponse) appendHeader(b []byte, h http.Header, exclude map[string]bool) []byte {
	w.aw.b = b
	h.WriteSubset(&w.aw, exclude)
	b, w.aw.b = w.aw.b, nil
	return b
}

type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }
func (a *appendWriter) WriteString(s string) (int, error) {
	a.b = append(a.b, s...)
	return len(s), nil
}

// commit writes the header, with the extras net/http adds, deciding the
// body's framing; p is the body's start (for Content-Type), final says
// the handler has finished (all of the body is p).
func (w *frontResponse) commit(p []byte, final bool) {
	w.committed = true
	b := w.head
	if w.bodyOK && w.clen < 0 && final && len(w.trailers) == 0 && !w.hasTrailerKeys() && first(w.h, "Transfer-Encoding") == "" {
		w.clen = int64(len(p))
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, "\r\n"...)
	}
	if !w.hasDate {
		b = append(b, "Date: "...)
		now := w.bw.now // the answer's last write follows at once: its time
		if now.IsZero() {
			now = time.Now()
		}
		b = appendDate(b, now)
		b = append(b, "\r\n"...)
	}
	if w.bodyOK && !w.haveType && !w.hasCE && first(w.h, "Transfer-Encoding") == "" && len(p) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(p)...)
		b = append(b, "\r\n"...)
	}
	if w.bodyOK && w.clen < 0 {
		if w.teIdentity {
			w.closeAfter = true
			if !w.connClose && !hasToken(w.h["Connection"], "close") {
				w.connClose = true
			}
		} else {
			w.chunked = true
		}
	}
	if w.connClose {
		b = append(b, "Connection: close\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.head = b
	w.bw.write(b)
}

func (w *frontResponse) hasTrailerKeys() bool {
	for k := range w.h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

func (w *frontResponse) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyOK {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.clen >= 0 && w.written+int64(len(p)) > w.clen {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.clen < 0 && len(w.held)+len(p) <= bufferBeforeChunking {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.held = append(w.held, p...)
		w.commit(w.held, false)
		w.body(w.held)
		w.held = w.held[:0]
		return len(p), w.err
	}
	w.body(p)
	return len(p), w.err
}

// body writes p, framed.
func (w *frontResponse) body(p []byte) {
	if len(p) == 0 {
		return
	}
	if w.chunked {
		w.bw.write(append(strconv.AppendInt(w.head[:0], int64(len(p)), 16), "\r\n"...))
		w.bw.write(p)
		w.bw.write(crlf)
	} else {
		w.bw.write(p)
	}
	if w.bw.err != nil {
		w.err = w.bw.err
	}
}

var crlf = []byte("\r\n")

// FlushError sends what the handler has written (http.ResponseController).
func (w *frontResponse) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(w.held, false)
		w.body(w.held)
		w.held = w.held[:0]
	}
	if err := w.bw.flush(); err != nil {
		w.err = err
	}
	return w.err
}

func (w *frontResponse) Flush() { w.FlushError() }

// finish ends the answer once the handler has returned: the header if
// not yet written, the last chunk and trailers, and sends it all.
func (w *frontResponse) finish() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	// one clock read for the Date (when the header goes now) and the
	// deadline of the writes that follow at once
	w.bw.now = time.Now()
	defer func() { w.bw.now = time.Time{} }()
	if !w.committed {
		w.commit(w.held, true)
		w.body(w.held)
		w.held = w.held[:0]
	}
	if w.chunked {
		w.bw.write([]byte("0\r\n"))
		t := http.Header{}
		for k, vs := range w.h {
			if kk, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				t[kk] = vs
			}
		}
		for _, k := range w.trailers {
			for _, v := range w.h[k] {
				t.Add(k, v)
			}
		}
		w.bw.write(w.appendHeader(w.head[:0], t, nil))
		w.bw.write(crlf)
	} else if w.clen >= 0 && w.written < w.clen && w.bodyOK {
		w.closeAfter = true // the body came short: the connection cannot carry another answer
	}
	if err := w.bw.flush(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// abort ends an answer the handler gave up on (a target's body cut
// short): what is already committed goes out, the rest does not.
func (w *frontResponse) abort() {
	if w.committed {
		w.bw.flush()
	}
}

// connWriter is a write buffer on the client connection.
type connWriter struct {
	c   *clientConn
	b   []byte
	err error
	now time.Time // set: the wall time for the writes' deadline (clientConn.writeAt), just read
}

func (cw *connWriter) init(c *clientConn) { cw.c, cw.b = c, make([]byte, 0, 4<<10) }

func (cw *connWriter) write(p []byte) {
	if cw.err != nil {
		return
	}
	if len(cw.b)+len(p) > cap(cw.b) {
		if cw.flush(); cw.err != nil {
			return
		}
		if len(p) > cap(cw.b) {
			_, cw.err = cw.c.writeAt(p, cw.now)
			return
		}
	}
	cw.b = append(cw.b, p...)
}

func (cw *connWriter) flush() error {
	if cw.err == nil && len(cw.b) > 0 {
		_, cw.err = cw.c.writeAt(cw.b, cw.now)
	}
	cw.b = cw.b[:0]
	return cw.err
}

// The Date header, formatted once a second.
var dateCache struct {
	mu  sync.Mutex
	sec int64
	val []byte
}

func appendDate(b []byte, now time.Time) []byte {
	dateCache.mu.Lock()
	if s := now.Unix(); s != dateCache.sec || dateCache.val == nil {
		dateCache.sec, dateCache.val = s, now.UTC().AppendFormat(dateCache.val[:0], http.TimeFormat)
	}
	b = append(b, dateCache.val...)
	dateCache.mu.Unlock()
	return b
}

// claimExchange is the access-log record the front made ready for r (its
// context), or nil when r is not the front's or it is already claimed.
func claimExchange(r *http.Request) *exchange {
	ex, ok := r.Context().(*exchange)
	if !ok || ex.n != nil {
		return nil
	}
	return ex
}
