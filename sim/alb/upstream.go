package alb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// upstream is one node's keep-alive connections to one target, and the
// round trip over them. Unlike http.Transport it never retries: a target
// that closes a reused connection with a request outstanding gives the
// client a 502, as on AWS (the classic target keep-alive shorter than the
// load balancer's idle timeout). The request is written and the response
// read on the handler's own goroutine, so a request costs no goroutine
// hand-offs.
type upstream struct {
	t     *Target
	addr  string
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	idle  time.Duration // wall: an idle connection older than this is closed, not reused
	reply time.Duration // wall: the target's silence that ends the exchange (idle timeout)
	conns *atomic.Int64 // the node's open connections to targets
	guard DialGuard     // asked before each dial; nil: none

	mu     sync.Mutex
	free   []*upConn // idle, most recent last
	closed bool
}

// peekAfter is how long a connection must have been idle before the node
// looks whether the target closed it. Under load connections come back in
// well under it and cost no look; a target closing a connection it kept
// alive for less than that is the real race, and gives a 502.
const peekAfter = 10 * time.Millisecond

// maxIdlePerTarget bounds the idle connections a node keeps to one target.
const maxIdlePerTarget = 1024

type upConn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	idleFrom time.Time
	peek     peeker       // says whether the idle connection is still open
	dl       lazyDeadline // the target's silence that ends the exchange (deadline.go)
	cl       clBody       // the body of the response being read, with a Content-Length
}

var errUpstreamClosed = errors.New("connection to target closed")

// RoundTrip sends r over an idle connection (or a new one) and returns the
// response; its body gives the connection back when read to the end.
func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return u.roundTrip(r, nil)
}

// roundTrip is RoundTrip; with f set, the request line and headers are
// written by f (fwdwrite.go) rather than by r.Write.
func (u *upstream) roundTrip(r *http.Request, f *fwdRequest) (*http.Response, error) {
	var now time.Time
	if f != nil {
		now, f.start = f.start, time.Time{} // the timedTransport's start, just read
	}
	if now.IsZero() {
		now = time.Now()
	}
	uc, err := u.get(r.Context(), now)
	if err != nil {
		closeBody(r)
		return nil, err
	}
	ctx := r.Context()
	fc := frontOf(ctx)
	if uc.dl.rd.IsZero() { // a new connection: the dial took time
		now = time.Now()
	}
	uc.dl.idle(uc.c, now, u.reply)
	stop := holdConn(ctx, fc, uc.c) // after the deadline: a cut stays cut
	if f != nil {
		f.writeTo(uc.bw, r)
	} else if err := r.Write(uc.bw); err != nil {
		stop.release()
		u.discard(uc)
		return nil, ctxErr(ctx, err)
	}
	if err := uc.bw.Flush(); err != nil {
		stop.release()
		u.discard(uc)
		return nil, ctxErr(ctx, err)
	}
	// The answer cannot have come yet: let the node's other requests run
	// first, so that the read finds it there more often than not, rather
	// than costing a read that finds nothing and a wait on the poller. It
	// changes when the read happens, never what it reads.
	runtime.Gosched()
	var resp *http.Response
	for {
		resp, err = readResponse(uc.br, r, &uc.cl, fc.records())
		if err != nil {
			stop.release()
			u.discard(uc)
			return nil, ctxErr(ctx, err)
		}
		// 1xx but 101: informational, the final answer follows (the node
		// answers Expect: 100-continue itself).
		if resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		break
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop.release()
		uc.dl.set(uc.c, time.Time{})
		resp.Body = &upgraded{uc: uc, u: u}
		return resp, nil
	}
	reuse := !resp.Close && !r.Close
	if resp.Body == http.NoBody {
		if stop.release() && reuse { // false: the client's end already cut the connection
			u.put(uc)
		} else {
			u.discard(uc)
		}
		return resp, nil
	}
	var b *upBody
	if rec := fc.records(); rec != nil {
		b = &rec.body
	} else {
		b = new(upBody)
	}
	*b = upBody{rc: resp.Body, uc: uc, u: u, stop: stop, reuse: reuse, sized: resp.ContentLength >= 0 && len(resp.TransferEncoding) == 0}
	resp.Body = b
	return resp, nil
}

// get takes the most recently used idle connection that is still open, or dials.
func (u *upstream) get(ctx context.Context, now time.Time) (*upConn, error) {
	u.mu.Lock()
	for len(u.free) > 0 {
		uc := u.free[len(u.free)-1]
		u.free[len(u.free)-1] = nil
		u.free = u.free[:len(u.free)-1]
		u.mu.Unlock()
		idle := now.Sub(uc.idleFrom)
		if idle < u.idle && uc.br.Buffered() == 0 && (idle < peekAfter || uc.peek.open()) {
			return uc, nil
		}
		u.discard(uc) // idle too long, or the target closed it meanwhile
		u.mu.Lock()
	}
	u.mu.Unlock()
	if u.guard != nil {
		if err := u.guard.AllowDial(ctx, u.t.ID, u.t.Addr); err != nil {
			return nil, fmt.Errorf("dial target %s: %w", u.t.ID, err)
		}
	}
	c, err := u.dial(ctx, "tcp", u.addr)
	if err != nil {
		return nil, err
	}
	u.conns.Add(1)
	return &upConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10), peek: newPeeker(c)}, nil
}

func (u *upstream) put(uc *upConn) {
	uc.idleFrom = time.Now()
	u.mu.Lock()
	if u.closed || len(u.free) >= maxIdlePerTarget {
		u.mu.Unlock()
		u.discard(uc)
		return
	}
	u.free = append(u.free, uc)
	u.mu.Unlock()
}

func (u *upstream) discard(uc *upConn) {
	uc.c.Close()
	u.conns.Add(-1)
}

// closeIdle closes the idle connections; with final set, connections given
// back later are closed too.
func (u *upstream) closeIdle(final bool) {
	u.mu.Lock()
	free := u.free
	u.free = nil
	u.closed = u.closed || final
	u.mu.Unlock()
	for _, uc := range free {
		u.discard(uc)
	}
}

// upBody is a target's response body: read to the end, it gives the
// connection back for the next request; closed early, it closes it.
type upBody struct {
	rc    io.ReadCloser
	uc    *upConn
	u     *upstream
	stop  cutHook
	reuse bool
	done  bool
	sized bool // Content-Length: read from the buffer while it holds any
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if !b.sized || b.uc.br.Buffered() == 0 {
		// the read may wait on the target: silence for the idle timeout
		// ends it (a sized body's read from the buffer waits on nothing)
		b.uc.dl.idleRead(b.uc.c, time.Now(), b.u.reply)
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(b.reuse)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *upBody) Close() error {
	b.finish(false) // a body not read to the end leaves the connection unusable
	return nil
}

func (b *upBody) finish(reuse bool) {
	if b.done {
		return
	}
	b.done = true
	if b.stop.release() && reuse { // false: the client's end already cut the connection
		b.u.put(b.uc)
	} else {
		b.u.discard(b.uc)
	}
}

// upgraded is the target's side of a connection switched to another
// protocol (WebSocket): the reverse proxy copies both ways.
type upgraded struct {
	uc   *upConn
	u    *upstream
	once sync.Once
}

func (g *upgraded) Read(p []byte) (int, error)  { return g.uc.br.Read(p) }
func (g *upgraded) Write(p []byte) (int, error) { return g.uc.c.Write(p) }
func (g *upgraded) Close() error {
	g.once.Do(func() { g.u.discard(g.uc) })
	return nil
}

var aLongTimeAgo = time.Unix(1, 0)

// ctxErr prefers the request's own end (the client went away) over the I/O
// error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// readResponse reads a target's response header from br as
// http.ReadResponse does, with a lean parser for the common response
// (HTTP/1.1, a status of 200 to 599 but 204 and 304, header lines of
// token names and printable values ending in CRLF, one Content-Length, no
// Transfer-Encoding, Connection, Trailer or Pragma) that has come whole
// into the buffer; any other goes to http.ReadResponse. cl is the
// connection's reader for a Content-Length body; rec, when not nil, holds
// the records the lean parser fills (the front connection's own).
func readResponse(br *bufio.Reader, req *http.Request, cl *clBody, rec *fwdRecords) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if req.Method == "HEAD" {
		return http.ReadResponse(br, req)
	}
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return http.ReadResponse(br, req)
	}
	resp, ok := parseResponseInto(buf[:end], req, rec)
	if !ok {
		return http.ReadResponse(br, req)
	}
	br.Discard(end + 4)
	if resp.ContentLength == 0 {
		resp.Body = http.NoBody
	} else {
		cl.br, cl.left = br, resp.ContentLength
		resp.Body = cl
	}
	return resp, nil
}

// parseResponse parses the header of a common response (readResponse);
// false for any other.
func parseResponse(head []byte, req *http.Request) (*http.Response, bool) {
	return parseResponseInto(head, req, nil)
}

// parseResponseInto is parseResponse filling rec's response, header map
// and values when rec is not nil.
func parseResponseInto(head []byte, req *http.Request, rec *fwdRecords) (*http.Response, bool) {
	for i, b := range head {
		if b == '\n' && (i == 0 || head[i-1] != '\r') || b == '\r' && (i+1 == len(head) || head[i+1] != '\n') ||
			b < 0x20 && b != '\r' && b != '\n' && b != '\t' || b == 0x7f {
			return nil, false
		}
	}
	s := string(head) // one allocation: every field is a part of it
	line, rest, _ := strings.Cut(s, "\r\n")
	status, ok := strings.CutPrefix(line, "HTTP/1.1 ")
	if !ok || len(status) < 5 || status[3] != ' ' || status[4] == ' ' {
		return nil, false
	}
	code := 0
	for _, c := range []byte(status[:3]) {
		if c < '0' || c > '9' {
			return nil, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, false
	}
	lines := 0
	if rest != "" {
		lines = strings.Count(rest, "\r\n") + 1
	}
	var h http.Header
	var vals []string
	if rec != nil {
		if rec.rh == nil {
			rec.rh = make(http.Header, lines)
		} else {
			clear(rec.rh)
		}
		if cap(rec.rvals) < lines {
			rec.rvals = make([]string, lines)
		}
		h, vals = rec.rh, rec.rvals[:lines]
		clear(vals)
	} else {
		h, vals = make(http.Header, lines), make([]string, lines)
	}
	clen := int64(-1)
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(l, ":")
		if !ok || !frontName(name) {
			return nil, false
		}
		value = textproto.TrimString(value)
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Transfer-Encoding", "Connection", "Trailer", "Pragma":
			return nil, false
		case "Content-Length":
			if clen >= 0 {
				return nil, false
			}
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || value[0] == '+' {
				return nil, false
			}
			clen = n
		}
		if vs, ok := h[key]; ok {
			h[key] = append(vs, value)
			continue
		}
		vals[0] = value
		h[key] = vals[:1:1]
		vals = vals[1:]
	}
	if clen < 0 {
		return nil, false
	}
	var resp *http.Response
	if rec != nil {
		resp = &rec.resp
	} else {
		resp = new(http.Response)
	}
	*resp = http.Response{Status: status, StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: clen, Request: req}
	return resp, true
}

// clBody is a Content-Length body on a target connection, as
// http.ReadResponse's: io.ErrUnexpectedEOF when the connection ends first.
type clBody struct {
	br   *bufio.Reader
	left int64
}

func (b *clBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if b.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

func (b *clBody) Close() error { return nil }
