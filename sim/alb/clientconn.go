package alb

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplydone/lab/internal/figures"
)

// The client side of a node below net/http: a listener that caps the
// node's client connections, and a connection that sees each HTTP/1
// request's bytes before Go's parser does. It
//
//   - classifies each request header for desync mitigation (desync.go) and
//     hands the verdict to the handler (take), which acts on it;
//   - drops header lines whose names the ALB calls invalid, when
//     routing.http.drop_invalid_header_fields.enabled is on, so that
//     neither Go nor the target sees them;
//   - follows each request's body (Content-Length or chunked, as Go frames
//     it) to find where the next request starts, with a per-read deadline
//     of the idle timeout while a body is read (the ALB closes a connection
//     on which nothing was sent or received for the idle timeout);
//   - sets a per-write deadline of the idle timeout, so a client that
//     stops reading cannot pin a node's goroutine and a target connection;
//   - catches the answer Go's server writes itself for a request it
//     rejects before the node's handler sees it (a malformed request line
//     or header: 400; a header over the limit: 431; an unsupported
//     Transfer-Encoding: 501) and turns it into the ALB's own: the ELB's
//     error page, counted in HTTPCode_ELB_4XX_Count (or 5XX) and written to
//     the access log, as the ALB counts and logs every request it answers.
//
// HTTP/2 (h2c prior knowledge) and upgraded connections (WebSocket) pass
// through untouched after their preface or upgrade.

// DefaultMaxClientConns is the lab's cap on a node's concurrent client
// connections. AWS documents no per-node limit (an ALB scales its nodes);
// the lab has one so that a flood cannot exhaust the host's descriptors or
// memory. A connection over the cap is reset at once and counted in
// RejectedConnectionCount, the metric the ALB keeps for connections it
// rejects at its maximum.
const DefaultMaxClientConns = 4096

// NodeFigures are the node limits the lab chose where AWS documents none.
func NodeFigures() []figures.Figure {
	return []figures.Figure{{Name: "Load balancer node client connections", Value: fmt.Sprintf("at most %d at once per node; more are reset (RejectedConnectionCount)", DefaultMaxClientConns),
		Kind: figures.Assumed, Source: "AWS documents no per-node limit (an ALB scales its nodes); the lab's cap keeps a flood from exhausting the host"}}
}

// clientListener caps and wraps a node's client connections.
type clientListener struct {
	net.Listener
	n    *Node
	max  int64
	open atomic.Int64
}

func (l *clientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.n.metrics.RejectedConnectionCount.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not a connection that hangs
			}
			c.Close()
			continue
		}
		cfg := &l.n.lb.cfg
		return &clientConn{Conn: c, l: l, n: l.n, idle: cfg.Clock.Wall(cfg.IdleTimeout),
			drop: cfg.DropInvalidHeaderFields}, nil
	}
}

type readState uint8

const (
	stHead      readState = iota // reading a request header, line by line
	stBody                       // Content-Length bytes left
	stChunkSize                  // a chunk-size line
	stChunkData                  // chunk data and its CRLF left
	stTrailer                    // trailer lines, up to the empty one
	stPass                       // HTTP/2, upgraded, or past what the lab can follow: bytes pass as they are
)

// maxHead is where Go's server gives up on a request header (431); the
// connection stops following the stream past it.
const maxHead = maxHeaderBytes + 4096 + 64

// reqHead is one request header as it came, and its verdict.
type reqHead struct {
	verdict Verdict
	line    []byte // the request line, without its line end (its first 1 K when longer)
	lineLen int    // the request line's length
	size    int    // bytes
}

// clientConn is one client connection of a node.
type clientConn struct {
	net.Conn
	l    *clientListener
	n    *Node
	idle time.Duration // wall
	drop bool
	id   uint64 // conn_trace_id, set by ConnContext

	// The reading side: one reader at a time (Go's connection reader).
	buf      [4096]byte
	out      []byte // bytes ready for Go
	off      int
	line     []byte // the line being assembled
	head     []byte // the request header so far (for its verdict)
	reqLine  []byte
	lineLen  int // the request line's length, also when passed on
	st       readState
	left     int64
	dropFold bool        // the last header line was dropped: so are its continuations
	upgrade  atomic.Bool // the handler saw an upgrade: pass what comes next
	bodyIdle atomic.Bool // a body read hit the idle timeout

	dl lazyDeadline // every deadline set on the connection (deadline.go)

	// front: the node's own front (h1serve.go) serves the connection and
	// reads it raw; it parses and classifies each request header itself
	// (fv, its verdict for the request being served) and replays what it
	// read through scan when it hands the connection to net/http.
	front bool
	fv    Verdict

	mu        sync.Mutex
	heads     []*reqHead // whole headers Go has been given, not yet taken by the handler
	free      []*reqHead // taken ones, for reuse
	inHandler bool
	closed    bool
}

func (c *clientConn) Read(p []byte) (int, error) {
	if c.front {
		return c.Conn.Read(p)
	}
	for c.off == len(c.out) {
		c.out, c.off = c.out[:0], 0
		if c.st == stPass {
			return c.Conn.Read(p)
		}
		if c.st != stHead && c.idle > 0 {
			c.dl.idleRead(c.Conn, time.Now(), c.idle)
		}
		n, err := c.Conn.Read(c.buf[:])
		c.scan(c.buf[:n])
		if err != nil && !isTimeout(err) && len(c.line) > 0 {
			c.pass() // the stream ended inside a line: Go gets it as it came
		}
		if err != nil {
			if c.off < len(c.out) {
				break // what came with the error first; the error again on the next read
			}
			if c.st != stHead && c.st != stPass && isTimeout(err) {
				c.bodyIdle.Store(true)
				return 0, errClientIdle
			}
			return 0, err
		}
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

// errClientIdle is a body read that hit the idle timeout: the ALB answers
// 408 ("the client did not send data before the idle timeout").
var errClientIdle error = clientIdleError{}

type clientIdleError struct{}

func (clientIdleError) Error() string {
	return "client sent no data for the idle timeout"
}
func (clientIdleError) Timeout() bool   { return true }
func (clientIdleError) Temporary() bool { return true }

// scan follows the request stream through b, adding to c.out what Go is
// to read.
func (c *clientConn) scan(b []byte) {
	if c.st == stHead && c.upgrade.Load() {
		c.pass()
	}
	for len(b) > 0 {
		switch c.st {
		case stPass:
			c.out = append(c.out, b...)
			return
		case stBody, stChunkData:
			k := int(min(int64(len(b)), c.left))
			c.out = append(c.out, b[:k]...)
			b, c.left = b[k:], c.left-int64(k)
			if c.left == 0 {
				if c.st == stBody {
					c.st = stHead
				} else {
					c.st = stChunkSize
				}
			}
		default: // a line at a time
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.line = append(c.line, b...)
				if len(c.head)+len(c.line) > maxHead {
					c.pass()
				}
				return
			}
			c.line = append(c.line, b[:i+1]...)
			b = b[i+1:]
			c.endLine()
			c.line = c.line[:0]
		}
	}
}

// pass stops following the stream: what is held goes to Go as it is.
func (c *clientConn) pass() {
	if len(c.head) == 0 && len(c.reqLine) == 0 { // a request line too long to follow
		c.reqLine, c.lineLen = append(c.reqLine[:0], c.line[:min(len(c.line), 1<<10)]...), len(c.line)
	}
	c.out = append(c.out, c.line...)
	c.line = c.line[:0]
	c.st = stPass
}

func emptyLine(l []byte) bool {
	return len(l) == 1 || len(l) == 2 && l[0] == '\r'
}

// endLine takes one whole line (c.line, with its LF).
func (c *clientConn) endLine() {
	l := c.line
	switch c.st {
	case stChunkSize:
		c.out = append(c.out, l...)
		size, _, _ := bytes.Cut(l, []byte{';'})
		n, err := strconv.ParseUint(string(bytes.TrimRight(trimOWS(bytes.TrimRight(size, "\r\n")), " \t")), 16, 63)
		switch {
		case err != nil:
			c.st = stPass // Go rejects it too
		case n == 0:
			c.st = stTrailer
		default:
			c.st, c.left = stChunkData, int64(n)+2
		}
		return
	case stTrailer:
		c.out = append(c.out, l...)
		if emptyLine(l) {
			c.st = stHead
		}
		return
	}
	first := len(c.head) == 0
	if first && bytes.HasPrefix(l, []byte("PRI * HTTP/2.0")) {
		c.pass() // h2c with prior knowledge
		return
	}
	if len(c.head)+len(l) > maxHead {
		c.pass()
		return
	}
	c.head = append(c.head, l...)
	if first {
		c.reqLine = append(c.reqLine[:0], bytes.TrimRight(l, "\r\n")...)
		c.lineLen = len(c.reqLine)
	}
	end := emptyLine(l)
	keep := true
	if c.drop && !first && !end {
		if l[0] == ' ' || l[0] == '\t' {
			keep = !c.dropFold
		} else {
			name, _, _ := bytes.Cut(bytes.TrimRight(l, "\r\n"), []byte{':'})
			keep = validALBHeaderName(name)
			c.dropFold = !keep
		}
	}
	if keep {
		c.out = append(c.out, l...)
	}
	if end {
		c.endHead()
	}
}

// endHead classifies the whole header and finds how Go frames its body.
func (c *clientConn) endHead() {
	v := ClassifyRequest(c.head)
	c.mu.Lock()
	var h *reqHead
	if n := len(c.free); n > 0 {
		h, c.free = c.free[n-1], c.free[:n-1]
	} else {
		h = new(reqHead)
	}
	c.mu.Unlock()
	h.verdict, h.line, h.lineLen, h.size = v, append(h.line[:0], c.reqLine...), c.lineLen, len(c.head)
	c.st = c.framing()
	c.head, c.reqLine, c.lineLen, c.dropFold = c.head[:0], c.reqLine[:0], 0, false
	c.mu.Lock()
	c.heads = append(c.heads, h)
	c.mu.Unlock()
}

// framing is the body's framing as Go's server reads it from the header
// lines it was given: chunked when HTTP/1.1 or later has one
// Transfer-Encoding: chunked; else Content-Length. What Go rejects (any
// other Transfer-Encoding, a bad or conflicting Content-Length) ends the
// connection, so the stream is not followed further.
func (c *clientConn) framing() readState {
	var v Verdict
	_, _, version := splitRequestLine(c.reqLine, &v)
	http11 := string(version) >= "HTTP/1.1"
	var te, cl [][]byte
	rest := c.head
	_, rest, _ = nextLine(rest)
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = nextLine(rest)
		name, value, ok := bytes.Cut(l, []byte{':'})
		if !ok || c.drop && !validALBHeaderName(name) {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			te = append(te, trimOWS(value))
		case bytes.EqualFold(name, []byte("Content-Length")):
			cl = append(cl, trimOWS(value))
		}
	}
	if http11 && len(te) > 0 {
		if len(te) == 1 && bytes.EqualFold(te[0], []byte("chunked")) {
			return stChunkSize
		}
		return stPass
	}
	if len(cl) == 0 {
		return stHead
	}
	n, err := strconv.ParseInt(string(cl[0]), 10, 64)
	if err != nil || n < 0 {
		return stPass
	}
	for _, v := range cl[1:] {
		if !bytes.Equal(v, cl[0]) {
			return stPass
		}
	}
	if n == 0 {
		return stHead
	}
	c.left = n
	return stBody
}

// take hands the handler its request's verdict (false for HTTP/2 and what
// the connection did not follow); done says the handler has returned.
func (c *clientConn) take() (Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inHandler = true
	if c.front {
		return c.fv, true
	}
	if len(c.heads) == 0 {
		return Verdict{}, false
	}
	h := c.heads[0]
	c.heads = append(c.heads[:0], c.heads[1:]...)
	c.free = append(c.free, h)
	return h.verdict, true
}

func (c *clientConn) done() {
	c.mu.Lock()
	c.inHandler = false
	c.mu.Unlock()
}

// handedOver ends the front's raw reading: what the front read of the
// connection (pending, starting at a request header) is followed as if it
// had just come, and Go reads it first.
func (c *clientConn) handedOver(pending []byte) {
	c.front = false
	c.scan(pending)
}

// bodyRead is a read of a request body the front serves: with the idle
// timeout as its deadline, and errClientIdle when it runs out (as Read
// does for the bodies it follows).
func (c *clientConn) bodyRead(p []byte) (int, error) {
	if c.idle > 0 {
		c.dl.idleRead(c.Conn, time.Now(), c.idle)
	}
	n, err := c.Conn.Read(p)
	if err != nil && isTimeout(err) {
		c.bodyIdle.Store(true)
		return n, errClientIdle
	}
	return n, err
}

// upgraded stops following the stream: after a protocol upgrade the
// bytes are the new protocol's.
func (c *clientConn) upgraded() { c.upgrade.Store(true) }

// goErrorHeaders is what Go's server writes after the status line of an
// answer it makes itself, with no handler (net/http server.go); a
// handler's answer always has other headers first (Date, at least).
var goErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c *clientConn) Write(p []byte) (int, error) { return c.writeAt(p, time.Time{}) }

// writeAt is Write with the wall time now, just read (zero: read it).
func (c *clientConn) writeAt(p []byte, now time.Time) (int, error) {
	if c.idle > 0 {
		if now.IsZero() {
			now = time.Now()
		}
		c.dl.idleWrite(c.Conn, now, c.idle)
	}
	if len(p) > 12 && bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		if code, ok := c.goAnswer(p); ok {
			return len(p), c.rejected(code)
		}
	}
	return c.Conn.Write(p)
}

// goAnswer says whether p is Go's own answer to a request it rejected
// (no handler running), and its status code.
func (c *clientConn) goAnswer(p []byte) (int, bool) {
	i := bytes.Index(p, []byte("\r\n"))
	if i < 0 || !bytes.HasPrefix(p[i:], goErrorHeaders) {
		return 0, false
	}
	code, err := strconv.Atoi(string(p[9:12]))
	if err != nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return code, !c.inHandler
}

// rejected answers, counts and logs a request Go's server rejected before
// the node saw it, as the ALB answers it: its own error page and
// HTTPCode_ELB_4XX_Count (5XX for 501); a request header past ALB's
// request line limit is 414, and a request the desync mitigation mode
// blocks is 400.
func (c *clientConn) rejected(code int) error {
	c.mu.Lock()
	var h *reqHead
	if len(c.heads) > 0 {
		h = c.heads[0]
	}
	c.mu.Unlock()
	if h == nil { // the header Go gave up on, as far as it came
		head := append(append([]byte(nil), c.head...), c.line...)
		line, _, _ := nextLine(head)
		reqLine, lineLen := append([]byte(nil), c.reqLine...), c.lineLen
		if len(reqLine) == 0 {
			reqLine, lineLen = line, len(line)
		}
		h = &reqHead{verdict: ClassifyRequest(head), line: reqLine, lineLen: lineLen, size: max(len(head), lineLen)}
	}
	n := c.n
	switch {
	case code == http.StatusRequestHeaderFieldsTooLarge && h.lineLen > maxRequestLine:
		code = http.StatusRequestURITooLong
	case DesyncAction(n.lb.cfg.DesyncMitigationMode, h.verdict.Class) == Block:
		code = http.StatusBadRequest
	}
	if h.verdict.Class != Compliant {
		n.metrics.DesyncNonCompliant.Add(1)
	}
	n.metrics.elbStatus(code)
	page := elbPage(code)
	_, err := c.Conn.Write(page)
	if n.lb.access != nil {
		n.logRejected(c, h, code, int64(len(page)))
	}
	return err
}

// elbPage is the ELB's error answer as raw bytes, closing the connection.
func elbPage(code int) []byte {
	title := elbBodies[code]
	if title == "" {
		title = strconv.Itoa(code) + " " + http.StatusText(code)
	}
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
	return []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nServer: awselb/2.0\r\nDate: " +
		time.Now().UTC().Format(http.TimeFormat) + "\r\nContent-Type: text/html\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\nConnection: close\r\n\r\n" + body)
}

// SetDeadline and its kin go through the connection's lazyDeadline, so
// that it knows the deadlines in force (net/http's server sets its own).
func (c *clientConn) SetDeadline(t time.Time) error      { return c.dl.set(c.Conn, t) }
func (c *clientConn) SetReadDeadline(t time.Time) error  { return c.dl.setRead(c.Conn, t) }
func (c *clientConn) SetWriteDeadline(t time.Time) error { return c.dl.setWrite(c.Conn, t) }

// idleRead sets the read deadline for the idle timeout from now, lazily.
func (c *clientConn) idleRead() { c.dl.idleRead(c.Conn, time.Now(), c.idle) }

func (c *clientConn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}

// clientConnOf finds the node's connection under a server-side conn.
func clientConnOf(c net.Conn) *clientConn {
	if h, ok := c.(*handedConn); ok {
		return h.clientConn
	}
	cc, _ := c.(*clientConn)
	return cc
}
