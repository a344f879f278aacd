//go:build linux

package alb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/simplydone/lab/internal/fdlimit"
)

// evLoop is the event loop under a node's front (on by default;
// Config.GoroutineFront takes it out): one goroutine and one epoll set of
// its own that own both the client connections it takes and its
// connections to the targets, so that a request costs no goroutine
// wake-up and no read that finds nothing (the goroutine front's cost per
// request, issue 17). Level-triggered: a descriptor is read only when
// epoll says it has something. New client connections come from the
// front's accept loop (the listener's cap first); the loop takes their
// descriptors (dup, then the Go connection closed) and hands one back as
// a Go connection (net.FileConn) to the goroutine front at the first
// request it does not take.
//
// It serves the front's common request (h1serve.go's parse: HTTP/1.1, a
// plain header, no body or a Content-Length one that has all come) with no
// listener rules, no stickiness, no active fault and a compliant desync
// verdict, and relays the target's answer (a Content-Length or chunked
// body, or none) as the front's response writer would write it. Any other
// request hands its connection, with the bytes read, to the goroutine
// front (frontConn.serve), and from there to net/http as before.
// Answers the loop cannot relay byte for byte as the front would (a
// target's answer without a length, declared trailers, a Connection header
// naming other headers, 101) end in the ELB's 502.
type evLoop struct {
	f    *front
	n    *Node
	epfd int
	evfd int // eventfd: post wakes the loop
	tick time.Duration

	mu      sync.Mutex
	queue   []func()
	exiting bool

	fds     []evHandler // by descriptor
	gens    int32
	clients map[*evClient]struct{}
	targets map[*evTarget]struct{}
	pools   map[*upstream][]*evTarget // idle target connections, most recent last
	dials   sync.WaitGroup
	now     time.Time
	bw      *bufio.Writer
	sink    appendSink
	idle    time.Duration // the client idle timeout (wall)
	done    chan struct{}
	file    *os.File        // the epoll set's descriptor, in Go's poller (wait)
	raw     syscall.RawConn // file's; nil: not pollable, wait blocks in epoll_wait
	until   time.Time       // file's read deadline
	served  atomic.Int64    // requests the loop routed itself (tests)
}

type evHandler interface {
	event(ev uint32)
	generation() int32
}

const evIn = unix.EPOLLIN | unix.EPOLLRDHUP

// maxRespHead bounds a target's response header the loop reads.
const maxRespHead = 64 << 10

// newEvLoop starts n's event loop; it ends once the front is closed and
// its last connection has ended (lb.wg waits for it).
func newEvLoop(f *front) (*evLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd), Pad: -1}); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	n := f.n
	l := &evLoop{f: f, n: n, epfd: epfd, evfd: evfd, clients: map[*evClient]struct{}{}, targets: map[*evTarget]struct{}{},
		pools: map[*upstream][]*evTarget{}, done: make(chan struct{}), idle: n.lb.cfg.Clock.Wall(n.lb.cfg.IdleTimeout)}
	// timeouts are swept every tick: each fires between d and d + tick
	l.tick = min(max(l.idle/32, time.Millisecond), 25*time.Millisecond)
	l.bw = bufio.NewWriterSize(&l.sink, 4<<10)
	// the set's descriptor in Go's poller, so that an idle loop waits
	// there (wait); the file owns the descriptor from here on
	unix.SetNonblock(epfd, true)
	l.file = os.NewFile(uintptr(epfd), "epoll")
	if l.file.SetReadDeadline(time.Time{}) == nil { // pollable
		if raw, err := l.file.SyscallConn(); err == nil {
			l.raw = raw
		}
	}
	n.lb.wg.Add(1)
	go l.run()
	return l, nil
}

// appendSink appends what is written to a buffer.
type appendSink struct{ b *[]byte }

func (s *appendSink) Write(p []byte) (int, error) { *s.b = append(*s.b, p...); return len(p), nil }

// post runs fn on the loop; false when the loop has ended.
func (l *evLoop) post(fn func()) bool {
	l.mu.Lock()
	if l.exiting {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, fn)
	if len(l.queue) == 1 {
		l.wake() // under l.mu: exit closes the eventfd under it, so this never writes to a closed or reused descriptor
	}
	l.mu.Unlock()
	return true
}

func (l *evLoop) wake() {
	var one = [8]byte{1}
	unix.Write(l.evfd, one[:])
}

func (l *evLoop) commands() {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, fn := range q {
		fn()
	}
}

func (l *evLoop) run() {
	defer l.n.lb.wg.Done()
	defer l.exit()
	events := make([]unix.EpollEvent, 128)
	l.now = time.Now()
	nextSweep := l.now.Add(l.tick)
	for {
		var until time.Time // zero: nothing to sweep, wait for events alone
		if len(l.clients)+len(l.targets) > 0 {
			until = nextSweep
		}
		k, err := l.wait(events, until)
		if err != nil && err != unix.EINTR {
			l.n.lb.errorLog.Printf("alb event loop: epoll_wait: %v", err)
			return
		}
		l.now = time.Now()
		for i := 0; i < k; i++ {
			ev := &events[i]
			if ev.Pad == -1 {
				l.commands()
				continue
			}
			if int(ev.Fd) >= len(l.fds) {
				continue
			}
			if h := l.fds[ev.Fd]; h != nil && h.generation() == ev.Pad {
				h.event(ev.Events)
			}
		}
		if !l.now.Before(nextSweep) {
			l.sweep()
			nextSweep = l.now.Add(l.tick)
		}
		if l.f.isClosed() && len(l.clients) == 0 {
			l.mu.Lock()
			pending := len(l.queue)
			l.mu.Unlock()
			if pending == 0 {
				return
			}
		}
	}
}

// wait returns the ready events: at once when there are some; else the
// loop waits on Go's own poller, which watches the epoll set's descriptor,
// until there are some or until has come. An idle loop so holds no P:
// the node's other goroutines (health checks, the access log, connections
// handed to the goroutine front) run meanwhile, with GOMAXPROCS=1 too,
// where a loop blocked in epoll_wait would hold the P until sysmon took
// it (up to 10 ms when the process has been idle).
func (l *evLoop) wait(events []unix.EpollEvent, until time.Time) (int, error) {
	if l.raw == nil { // the set is not pollable here: block in epoll_wait
		ms := -1
		if !until.IsZero() {
			ms = max(int(time.Until(until)/time.Millisecond), 0) + 1
		}
		return unix.EpollWait(l.epfd, events, ms)
	}
	var k int
	var err error
	if !until.Equal(l.until) {
		l.file.SetReadDeadline(until)
		l.until = until
	}
	rerr := l.raw.Read(func(uintptr) bool { // called first at once: no wait when there are events
		k, err = pollNow(l.epfd, events)
		return k > 0 || err != nil && err != unix.EINTR
	})
	if rerr != nil {
		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, rerr
	}
	return k, err
}

// exit closes what the loop still holds, once the front has closed.
func (l *evLoop) exit() {
	l.mu.Lock()
	l.exiting = true
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, fn := range q { // adoptions and dial results that came late: their connections close
		fn()
	}
	for c := range l.clients {
		l.closeClient(c)
	}
	for t := range l.targets {
		l.closeTarget(t)
	}
	l.dials.Wait()
	l.mu.Lock() // a post that passed its check before exiting was set has woken the loop by now
	unix.Close(l.evfd)
	l.mu.Unlock()
	l.file.Close() // the epoll set's descriptor
	close(l.done)
}

// register adds fd to the epoll set under h; it returns h's generation.
func (l *evLoop) register(fd int, h evHandler, gen int32) error {
	for fd >= len(l.fds) {
		l.fds = append(l.fds, nil)
	}
	l.fds[fd] = h
	return unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: evIn, Fd: int32(fd), Pad: gen})
}

func (l *evLoop) modify(fd int, events uint32, gen int32) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd), Pad: gen})
}

func (l *evLoop) forget(fd int) {
	if fd >= 0 && fd < len(l.fds) {
		l.fds[fd] = nil
	}
}

func (l *evLoop) nextGen() int32 {
	l.gens++
	if l.gens == -1 || l.gens == 0 {
		l.gens = 1
	}
	return l.gens
}

// sweep fires the timeouts that have run out.
func (l *evLoop) sweep() {
	now := l.now
	for c := range l.clients {
		if !c.deadline.IsZero() && now.After(c.deadline) {
			c.deadline = time.Time{}
			c.expired()
		}
	}
	for t := range l.targets {
		switch {
		case t.c != nil && !t.deadline.IsZero() && now.After(t.deadline):
			t.deadline = time.Time{}
			t.c.targetFailed(os.ErrDeadlineExceeded)
		case t.c == nil && now.Sub(t.idleFrom) >= t.up.idle:
			l.closeTarget(t)
		}
	}
}

// The loop's reads, writes and polls of its sockets never block (every
// descriptor is non-blocking; the poll's timeout is 0): they are made as
// raw system calls, without telling the scheduler. A call through
// syscall.Syscall marks the P as in a system call, and sysmon, sampling
// every 20 us while the loop keeps making them, takes the P away from a
// call it finds still running and hands it to another thread: a futex
// wake-up and a slow return for the loop, and sysmon kept at its fastest
// pace (measured: some 5,000 wake-ups of sysmon a second and a futex call
// every 17 requests).
func rawRead(fd int, p []byte) (int, error)  { return rawIO(syscall.SYS_READ, fd, p) }
func rawWrite(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2) (trap) of p on fd.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	var b unsafe.Pointer
	if len(p) > 0 {
		b = unsafe.Pointer(&p[0])
	}
	n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(b), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// pollNow is epoll_wait with a timeout of 0 (epoll_pwait, no signal mask:
// the call every Linux architecture has).
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// dupFD is a descriptor of c's socket of the caller's own (close on exec,
// non-blocking as Go's).
func dupFD(c syscall.Conn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := raw.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, err
	}
	return nfd, nil
}

// --- client side ---------------------------------------------------------

// accept takes a new client connection onto the loop; false leaves it to
// the goroutine front, untouched.
func (l *evLoop) accept(cc *clientConn) bool {
	tc, ok := cc.Conn.(*net.TCPConn)
	if !ok {
		return false
	}
	fd, err := dupFD(tc)
	if err != nil {
		fdlimit.Note(err) // the goroutine front serves it; out of descriptors is counted
		return false
	}
	sock := &loopSock{l: l, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	c := &evClient{l: l, fd: fd, sock: sock}
	sock.c = c
	cc.Conn = sock // no one else has cc yet
	tc.Close()     // out of Go's poller: the loop's descriptor is the socket now
	fc := l.f.newConn(cc)
	if fc == nil {
		sock.state.Store(sockClosed)
		unix.Close(fd)
		cc.Close()
		return true
	}
	c.fc = fc // before add is posted: the loop reads it only once added
	if !l.post(func() { l.add(c) }) {
		c.handBack() // the loop has ended: the goroutine front serves it
	}
	return true
}

func (l *evLoop) add(c *evClient) {
	if l.f.isClosed() || c.sock.state.Load() != sockLoop {
		l.clients[c] = struct{}{}
		l.closeClient(c)
		return
	}
	c.gen = l.nextGen()
	if err := l.register(c.fd, c, c.gen); err != nil {
		l.forget(c.fd)
		c.handBack()
		return
	}
	l.clients[c] = struct{}{}
	if l.idle > 0 {
		c.deadline = l.now.Add(l.idle)
	}
}

type clientState uint8

const (
	cIdle   clientState = iota // between requests, or reading a header
	cBusy                      // a request is being served
	cLinger                    // answered and closing: reading what still comes
	cClosed
)

// evClient is one client connection on the loop. Its frontConn holds
// what the goroutine front would: the read buffer, the parser's records,
// the connection record; it serves the connection if it is handed over.
type evClient struct {
	l        *evLoop
	fd       int
	gen      int32
	fc       *frontConn
	sock     *loopSock
	state    clientState
	out      []byte // answer bytes not yet written
	outOff   int
	wantOut  bool // EPOLLOUT is in the set
	paused   bool // EPOLLIN is out of the set (buffer full while busy)
	deadline time.Time
	armed    bool // the deadline is the header's (set once it began)
	shut     bool // close (write side, then linger) once out is written
	fin      bool // the client closed its side while a request was served
	x        evExchange
}

// evExchange is the request being served.
type evExchange struct {
	r           *http.Request
	rs          *routeSet
	rt          *Route
	fp          *fastPath
	t           *evTarget
	start, sent time.Time
	got, resp   time.Time
	status      int
	tstatus     int
	hdrBytes    int64
	bodyBytes   int64
	headSent    bool
	rule        int    // the matched rule's priority (0: the default)
	action      string // the rule's action ("": no rules)
	keepExpired bool   // client_keep_alive ran out: Connection: close among the headers
	closeAfter  bool
	routed      bool
}

func (c *evClient) generation() int32 { return c.gen }

func (c *evClient) event(ev uint32) {
	if ev&unix.EPOLLOUT != 0 && len(c.out) > c.outOff {
		if !c.flush() {
			return
		}
		c.resume()
		if c.state == cClosed {
			return
		}
	}
	if c.state != cClosed && c.paused && ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.gone() // reset while not read (a full buffer, or its side closed): always reported
		return
	}
	if c.state != cClosed && ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable()
	}
}

func (c *evClient) readable() {
	fc := c.fc
	if c.state == cLinger {
		var scratch [512]byte
		k, err := rawRead(c.fd, scratch[:])
		if err == unix.EAGAIN {
			return
		}
		if k <= 0 || err != nil {
			c.l.closeClient(c)
		}
		return
	}
	if fc.w == len(fc.buf) && fc.r > 0 && c.state == cIdle {
		fc.w = copy(fc.buf[:], fc.buf[fc.r:fc.w])
		fc.r = 0
	}
	if fc.w == len(fc.buf) { // busy with a pipelined request waiting: read on after the answer
		c.paused = true
		c.l.modify(c.fd, c.events(), c.gen)
		return
	}
	k, err := rawRead(c.fd, fc.buf[fc.w:])
	if err == unix.EAGAIN {
		return
	}
	if k == 0 && err == nil && c.state == cBusy && c.l.now.Sub(c.x.start) < watchAfter {
		// the client's end, soon after its request: as the goroutine
		// front, which watches a request's client only from watchAfter on,
		// the answer that comes by then is still written (then the
		// connection closes); later the request ends (460)
		c.fin, c.paused = true, true
		c.l.modify(c.fd, c.events(), c.gen)
		c.deadline = c.x.start.Add(watchAfter)
		return
	}
	if k == 0 && err == nil && c.state == cIdle && len(c.out) > c.outOff {
		// the client's end while the last answer is still written (or
		// after an answer that closes the connection): as the goroutine
		// front, the answer is written out first, then the connection
		// closes; nothing more is read or served
		c.shut, c.paused = true, true
		c.l.modify(c.fd, c.events(), c.gen)
		return
	}
	if k <= 0 || err != nil {
		c.gone()
		return
	}
	fc.w += k
	if c.state == cIdle && !c.shut && len(c.out) == c.outOff {
		c.serveBuffered()
	}
	// else: a request that comes while the last answer is still written
	// waits for it (flush, then resume); after an answer that closes the
	// connection, none is served (as the goroutine front)
}

// resume serves on once the last answer has all been written: the
// requests that came meanwhile are served (or handed over) only then, so
// that no answer byte is dropped or overtaken.
func (c *evClient) resume() {
	if c.state != cIdle || c.shut || len(c.out) > c.outOff {
		return
	}
	if c.fc.closing.Load() || c.l.f.isClosed() { // a graceful close waited for the answer
		c.shut = true
		c.flushAndClose()
		return
	}
	if c.paused {
		c.paused = false
		c.l.modify(c.fd, c.events(), c.gen)
	}
	if c.fc.w > c.fc.r {
		c.serveBuffered()
	}
}

func (c *evClient) events() uint32 {
	var ev uint32
	if !c.paused {
		ev |= evIn
	}
	if c.wantOut {
		ev |= unix.EPOLLOUT
	}
	return ev
}

// serveBuffered serves the requests whose headers have all come.
func (c *evClient) serveBuffered() {
	l, fc := c.l, c.fc
	for c.state == cIdle && !c.shut && len(c.out) == c.outOff { // (an answer still written: resume goes on)
		if fc.closing.Load() || l.f.isClosed() {
			c.shut = true
			c.flushAndClose()
			return
		}
		end := headEnd(fc.buf[fc.r:fc.w])
		if end < 0 || end == 0 && fc.r == 0 && fc.w == len(fc.buf) {
			c.handOver()
			return
		}
		if end == 0 {
			if fc.r > 0 {
				fc.w = copy(fc.buf[:], fc.buf[fc.r:fc.w])
				fc.r = 0
			}
			if fc.w > 0 && !c.armed && l.idle > 0 {
				// a header has begun: it has the idle timeout to end
				// (net/http's ReadHeaderTimeout)
				c.deadline, c.armed = l.now.Add(l.idle), true
			}
			return
		}
		r, ok := fc.parse(fc.buf[fc.r : fc.r+end])
		if !ok || !c.takes(r, end) {
			c.handOver()
			return
		}
		rs, prio, action, ok := c.route(r)
		if !ok {
			c.handOver()
			return
		}
		body := fc.buf[fc.r+end : fc.r+end+int(r.ContentLength)]
		c.dispatch(r, body, end, rs, prio, action)
	}
}

// takes says whether the loop serves r (its header end bytes long); if
// not, the goroutine front does.
func (c *evClient) takes(r *http.Request, end int) bool {
	n, fc := c.l.n, c.fc
	lb := n.lb
	if lb.sticky != nil || lb.faults.active.Load() != nil || fc.verdict.Class != Compliant {
		return false
	}
	if r.ContentLength > 0 && int64(fc.w-fc.r-end) < r.ContentLength {
		return false // a body still to come: the goroutine front reads it
	}
	return true
}

// route chooses r's route set as Node.ServeHTTP does: the listener's
// rules (rules.go), when there are any, name the target group. false
// hands the request to the goroutine front: a fixed response or a
// redirect (the node's own writers answer those), a weighted forward
// with target group stickiness (its cookie), or a route the fast path
// does not know.
func (c *evClient) route(r *http.Request) (rs *routeSet, prio int, action string, ok bool) {
	n := c.l.n
	rs = n.routes.Load()
	if rules := n.lb.rules.Load(); rules != nil {
		var client netip.Addr
		if rules.NeedsClient() { // only source-ip conditions look at it
			if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
				client = ap.Addr()
			}
		}
		var a *RuleAction
		prio, a = rules.Evaluate(r, client) // no side effects: the goroutine front evaluates again
		if a.Type != ActionForward || len(a.Weighted) > 0 && a.Stickiness != 0 && rules.tgSeal != nil {
			return nil, 0, "", false
		}
		group := a.TargetGroup
		if len(a.Weighted) > 0 {
			group = n.pickGroup(a.Weighted)
		}
		if group != n.lb.cfg.TargetGroupName {
			rs = n.routesOf(group) // another target group (groups.go)
		}
		action = a.Type
	}
	for i := range rs.routes {
		if rs.routes[i].fast == nil {
			return nil, 0, "", false
		}
	}
	return rs, prio, action, true
}

// dispatch routes r and sends it to its target.
func (c *evClient) dispatch(r *http.Request, body []byte, end int, rs *routeSet, prio int, action string) {
	l, n, fc := c.l, c.l.n, c.fc
	now := l.now
	x := &c.x
	*x = evExchange{r: r, start: now, rule: prio, action: action}
	l.served.Add(1)
	c.state, c.deadline, c.armed = cBusy, time.Time{}, false
	if c.fin { // the client has closed its side: watched from watchAfter on
		c.deadline = now.Add(watchAfter)
	}
	fc.busy.Store(true)
	fc.cc.fv = fc.verdict
	x.keepExpired = n.lb.awsAt(now).Sub(fc.ci.opened) >= n.lb.cfg.ClientKeepAlive
	x.closeAfter = r.Close || x.keepExpired
	consumed := func() {
		fc.r += end + int(r.ContentLength)
		if fc.r == fc.w {
			fc.r, fc.w = 0, 0
		}
	}
	i := rs.picker.Pick(rs.routes)
	if i < 0 {
		consumed()
		rs.stats.noTarget.Add(1)
		n.metrics.elbStatus(http.StatusServiceUnavailable)
		c.answerELB(http.StatusServiceUnavailable)
		return
	}
	rt := n.route(rs, i)
	x.rs, x.rt, x.fp, x.routed = rs, rt, rt.fast, true
	x.sent = now

	t := l.take(x.fp.up)
	if t == nil {
		t = &evTarget{l: l, fd: -1, up: x.fp.up}
	}
	t.c, x.t = c, t
	t.startResponse()
	c.writeRequest(t, r, body)
	consumed()
	if t.fd < 0 {
		l.dial(t)
		return
	}
	t.deadline = now.Add(t.up.reply)
	t.flush()
}

// writeRequest appends the request the target gets to t's output: the
// goroutine front's bytes (forward, fwdRequest.writeTo or
// http.Request.Write with outHeader's map).
func (c *evClient) writeRequest(t *evTarget, r *http.Request, body []byte) {
	l, n, fc := c.l, c.l.n, c.fc
	rec := &fc.fwd
	out, u := &rec.out, &rec.url
	*out = *r
	*u = url.URL{Scheme: "http", Host: c.x.fp.target, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out.URL = u
	out.RequestURI = ""
	out.Close = false
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Body = nil
	l.sink.b = &t.out
	l.bw.Reset(&l.sink)
	if r.ContentLength == 0 && canWriteFast(out) {
		fr := &rec.fr
		*fr = fwdRequest{up: c.x.fp.up, in: r, n: n}
		fr.writeTo(l.bw, out)
	} else {
		out.Header = n.outHeader(r)
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.Write(l.bw)
	}
	l.bw.Flush()
	l.sink.b = nil
}

// answerELB answers the request being served with the ELB's own page.
func (c *evClient) answerELB(code int) {
	x := &c.x
	title := elbBodies[code]
	b := appendStatusLine(c.out, code)
	if x.keepExpired {
		b = append(b, "Connection: close\r\n"...)
		x.hdrBytes += int64(len("Connection") + len("close") + 4)
	}
	b = append(b, "Content-Type: text/html\r\nServer: awselb/2.0\r\n"...)
	x.hdrBytes += int64(len("Content-Type")+len("text/html")+4) + int64(len("Server")+len("awselb/2.0")+4)
	bodyLen := 2*len(title) + len("<html>\r\n<head><title></title></head>\r\n<body>\r\n<center><h1></h1></center>\r\n</body>\r\n</html>\r\n")
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(bodyLen), 10)
	b = append(b, "\r\nDate: "...)
	b = appendDate(b, c.l.now)
	b = append(b, "\r\n"...)
	if x.closeAfter && !x.keepExpired {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n<html>\r\n<head><title>"...)
	b = append(b, title...)
	b = append(b, "</title></head>\r\n<body>\r\n<center><h1>"...)
	b = append(b, title...)
	b = append(b, "</h1></center>\r\n</body>\r\n</html>\r\n"...)
	c.out = b
	x.status, x.bodyBytes, x.headSent, x.resp = code, int64(bodyLen), true, c.l.now
	c.complete()
}

// complete ends the exchange: its accounting, its log line, the answer
// written; then the next request.
func (c *evClient) complete() {
	l, n, fc := c.l, c.l.n, c.fc
	x := &c.x
	if x.routed {
		x.rt.inflight.Add(-1)
		x.rt.Target.end()
	}
	if n.lb.access != nil {
		c.logExchange()
	}
	x.r, x.rt, x.rs, x.fp, x.t = nil, nil, nil, nil, nil
	c.state = cIdle // busy until the answer is written (flush): a graceful close waits for it
	if x.closeAfter || fc.closing.Load() || l.f.isClosed() || c.fin && headEnd(fc.buf[fc.r:fc.w]) == 0 {
		// (a client that closed its side has its pipelined requests served)
		c.shut = true
		c.flushAndClose()
		return
	}
	if !c.flush() {
		return
	}
	if l.idle > 0 && len(c.out) == c.outOff {
		c.deadline = l.now.Add(l.idle) // idle from the answer on
	}
	c.resume() // now, or once the answer is written (event)
}

// flush writes what is waiting; false when the connection has closed.
func (c *evClient) flush() bool {
	l := c.l
	for c.outOff < len(c.out) {
		k, err := rawWrite(c.fd, c.out[c.outOff:])
		if err == unix.EAGAIN {
			if !c.wantOut {
				c.wantOut = true
				l.modify(c.fd, c.events(), c.gen)
			}
			if l.idle > 0 {
				c.deadline = l.now.Add(l.idle) // a client that stops reading is cut at the idle timeout
			}
			if t := c.x.t; t != nil && !t.paused && len(c.out)-c.outOff > 256<<10 {
				// read the target on once the client has taken this; its
				// silence is not timed meanwhile (the goroutine front times
				// each read of the body from its start)
				t.paused, t.deadline = true, time.Time{}
				l.modify(t.fd, t.events(), t.gen)
			}
			return true
		}
		if err != nil {
			c.gone()
			return false
		}
		c.outOff += k
	}
	c.out, c.outOff = c.out[:0], 0
	if c.state == cIdle && c.fc.busy.Load() {
		c.fc.busy.Store(false) // the answer is written
	}
	if c.wantOut {
		c.wantOut = false
		l.modify(c.fd, c.events(), c.gen)
		switch {
		case c.state == cBusy: // written: the target's deadline is the exchange's
			c.deadline = time.Time{}
		case c.state == cIdle && l.idle > 0:
			c.deadline = l.now.Add(l.idle)
		}
	}
	if t := c.x.t; t != nil && t.paused {
		t.paused, t.deadline = false, l.now.Add(t.up.reply)
		l.modify(t.fd, t.events(), t.gen)
	}
	if c.shut && c.state == cIdle {
		c.linger()
	}
	return c.state != cClosed
}

func (c *evClient) flushAndClose() {
	if c.flush() && c.state == cIdle && len(c.out) == c.outOff {
		c.linger()
	}
}

// linger closes the write side and reads what the client still sends, for
// a moment, so that closing does not reset it before it has read the
// answer (net/http and the goroutine front wait alike).
func (c *evClient) linger() {
	unix.Shutdown(c.fd, unix.SHUT_WR)
	c.state = cLinger
	c.deadline = c.l.now.Add(500 * time.Millisecond)
	if c.paused {
		c.paused = false
		c.l.modify(c.fd, c.events(), c.gen)
	}
}

// expired: the connection's deadline ran out.
func (c *evClient) expired() {
	switch {
	case c.state == cBusy: // writing an answer the client does not read
		c.gone()
	default: // idle, a header that did not end, or the linger
		c.l.closeClient(c)
	}
}

// gone: the client closed or reset the connection.
func (c *evClient) gone() {
	if c.state == cBusy {
		x := &c.x
		if !x.headSent { // the client closed the connection first (460)
			x.status = 460
			c.l.n.metrics.elbStatus(460)
		}
		if t := x.t; t != nil {
			x.t = nil
			t.c = nil
			c.l.closeTarget(t) // the target's connection is cut
		}
		c.state = cIdle
		c.complete0()
	}
	c.l.closeClient(c)
}

// complete0 is complete's accounting alone, for an exchange that ends
// with its connection.
func (c *evClient) complete0() {
	x := &c.x
	if x.routed {
		x.rt.inflight.Add(-1)
		x.rt.Target.end()
	}
	if c.l.n.lb.access != nil && x.r != nil {
		c.logExchange()
	}
	x.r, x.rt, x.rs, x.fp, x.t = nil, nil, nil, nil, nil
	c.fc.busy.Store(false)
}

// targetFailed ends the exchange with the target's failure: 502 (refused,
// reset, closed, garbage) or 504 (no connection in time, or silence for
// the idle timeout); a body cut short cuts the client's answer too.
func (c *evClient) targetFailed(err error) {
	l, n := c.l, c.l.n
	x := &c.x
	if t := x.t; t != nil {
		x.t = nil
		t.c = nil
		l.closeTarget(t)
	}
	if x.headSent { // the target cut the body short: so is the client's answer
		c.flush()
		if c.state != cClosed {
			c.complete0()
			c.state = cIdle
			// what the target sent is written out first, as the
			// goroutine front does, then the connection closes
			c.shut, c.paused = true, true
			l.modify(c.fd, c.events(), c.gen)
			c.flushAndClose()
		}
		return
	}
	if x.fp != nil && x.fp.o != nil {
		x.fp.o.requests.Add(1)
		x.fp.o.errors.Add(1)
	}
	code := http.StatusBadGateway
	if isTimeout(err) {
		code = http.StatusGatewayTimeout
	}
	n.metrics.elbStatus(code)
	c.answerELB(code)
}

// handOver gives the connection to the goroutine front, with what was read
// of it: it serves it from the request it did not take.
func (c *evClient) handOver() {
	l := c.l
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.forget(c.fd)
	delete(l.clients, c)
	c.state = cClosed
	c.handBack()
}

// handBack turns the loop's descriptor back into a Go connection that the
// goroutine front serves.
func (c *evClient) handBack() {
	f := os.NewFile(uintptr(c.fd), "")
	conn, err := net.FileConn(f)
	f.Close()
	c.fd = -1
	if err != nil {
		c.sock.state.Store(sockClosed)
		c.finishConn()
		return
	}
	c.sock.handTo(conn)
	if c.sock.state.Load() == sockClosing { // closed meanwhile
		conn.Close()
	}
	go c.fc.serve() // as a connection accepted by the goroutine front
}

// closeClient closes the connection and forgets it.
func (l *evLoop) closeClient(c *evClient) {
	if t := c.x.t; t != nil {
		c.x.t = nil
		t.c = nil
		l.closeTarget(t)
	}
	if c.state == cBusy {
		if !c.x.headSent { // cut before its answer (a hard close): 460, as gone
			c.x.status = 460
			l.n.metrics.elbStatus(460)
		}
		c.complete0()
	}
	c.state = cClosed
	if c.fd >= 0 {
		l.forget(c.fd)
		unix.Close(c.fd)
		c.fd = -1
	}
	delete(l.clients, c)
	c.sock.state.Store(sockClosed)
	c.finishConn()
}

// finishConn is what the goroutine front does when its connection ends
// (frontConn.serve).
func (c *evClient) finishConn() {
	fc := c.fc
	fc.cancel()
	fc.f.mu.Lock()
	delete(fc.f.conns, fc)
	fc.f.idle.Broadcast()
	fc.f.mu.Unlock()
	fc.cc.Close()
	fc.n.metrics.clientConns.Add(-1)
}

// logExchange writes the exchange's access-log line, as exchange.finish.
func (c *evClient) logExchange() {
	n, x, r := c.l.n, &c.x, c.x.r
	end := c.l.now
	speed := n.lb.cfg.Clock.Speed()
	en := accessEntry{
		end: n.lb.awsAt(end), client: r.RemoteAddr, reqProc: -1, targetProc: -1, respProc: -1,
		elbStatus: x.status, targetStatus: x.tstatus,
		sent: x.bodyBytes + x.hdrBytes + int64(len(r.Proto)+16), method: r.Method, host: r.Host, uri: r.RequestURI, proto: r.Proto,
		userAgent: r.Header.Get("User-Agent"), traceID: r.Header.Get("X-Amzn-Trace-Id"), verdict: c.fc.verdict,
		connID: c.fc.ci.id, rule: x.rule, action: x.action,
	}
	if x.fp != nil {
		en.target, en.group = x.fp.target, x.fp.group
	}
	en.complete(r, x.start, x.sent, x.got, x.resp, end, speed)
	n.lb.access.add(&en)
}

// loopSock stands in for a client connection's net.Conn while the loop
// owns its descriptor: Close asks the loop to close it. Once handed to
// the goroutine front it passes every call to the Go connection.
type loopSock struct {
	l      *evLoop
	c      *evClient
	laddr  net.Addr
	raddr  net.Addr
	state  atomic.Int32
	handed atomic.Pointer[net.Conn]
}

const (
	sockLoop    int32 = iota // the loop's
	sockClosing              // Close was called; the loop closes it
	sockClosed               // closed by the loop
	sockHanded               // a Go connection serves it
)

var errLoopOwned = errors.New("alb: connection served by the event loop")

func (s *loopSock) handTo(c net.Conn) {
	s.handed.Store(&c)
	s.state.CompareAndSwap(sockLoop, sockHanded)
}

func (s *loopSock) conn() net.Conn {
	if p := s.handed.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *loopSock) Read(p []byte) (int, error) {
	if c := s.conn(); c != nil {
		return c.Read(p)
	}
	return 0, errLoopOwned
}

func (s *loopSock) Write(p []byte) (int, error) {
	if c := s.conn(); c != nil {
		return c.Write(p)
	}
	return 0, errLoopOwned
}

func (s *loopSock) Close() error {
	if c := s.conn(); c != nil {
		return c.Close()
	}
	if s.state.CompareAndSwap(sockLoop, sockClosing) {
		c := s.c
		s.l.post(func() {
			if c.gen != 0 && c.state != cClosed { // not yet added: add closes it
				c.l.closeClient(c)
			}
		})
	}
	return nil
}

func (s *loopSock) CloseWrite() error {
	if c, ok := s.conn().(interface{ CloseWrite() error }); ok {
		return c.CloseWrite()
	}
	return nil
}

func (s *loopSock) LocalAddr() net.Addr  { return s.laddr }
func (s *loopSock) RemoteAddr() net.Addr { return s.raddr }

func (s *loopSock) SetDeadline(t time.Time) error {
	if c := s.conn(); c != nil {
		return c.SetDeadline(t)
	}
	return nil
}

func (s *loopSock) SetReadDeadline(t time.Time) error {
	if c := s.conn(); c != nil {
		return c.SetReadDeadline(t)
	}
	return nil
}

func (s *loopSock) SetWriteDeadline(t time.Time) error {
	if c := s.conn(); c != nil {
		return c.SetWriteDeadline(t)
	}
	return nil
}

// --- target side ---------------------------------------------------------

type respState uint8

const (
	rHead respState = iota
	rBody           // Content-Length bytes left
	rChunkSize
	rChunkData
	rChunkEnd // the CRLF after a chunk's data
	rTrailer
	rClose // a body up to the target's close
	rDone
)

// evTarget is one connection of the loop's to a target.
type evTarget struct {
	l        *evLoop
	fd       int
	gen      int32
	up       *upstream
	ref      *targetRef
	c        *evClient // whose request it carries; nil: idle
	buf      []byte
	r, w     int
	out      []byte
	outOff   int
	wantOut  bool
	paused   bool
	deadline time.Time
	idleFrom time.Time
	cancel   context.CancelFunc // a dial in progress
	// the response being read
	st       respState
	left     int64
	noReuse  bool
	chunked  bool
	waiting  bool // the client's header waits (for the first chunk, or the body's first bytes)
	head     []byte
	flags    headFlags
	declared []string // the names the Trailer header declared
}

func (t *evTarget) generation() int32 { return t.gen }

func (t *evTarget) startResponse() {
	t.st, t.left, t.noReuse, t.chunked, t.waiting, t.flags = rHead, 0, false, false, false, headFlags{}
	t.head, t.declared = t.head[:0], t.declared[:0]
}

// take is an idle connection to u, or nil.
func (l *evLoop) take(u *upstream) *evTarget {
	free := l.pools[u]
	for len(free) > 0 {
		t := free[len(free)-1]
		free[len(free)-1] = nil
		free = free[:len(free)-1]
		l.pools[u] = free
		if l.now.Sub(t.idleFrom) < u.idle && t.r == t.w {
			return t
		}
		l.closeTarget(t)
		free = l.pools[u]
	}
	return nil
}

// put keeps an idle connection for the next request to its target.
func (l *evLoop) put(t *evTarget) {
	u := t.up
	u.mu.Lock()
	closed := u.closed
	u.mu.Unlock()
	if closed || len(l.pools[u]) >= maxIdlePerTarget || t.r != t.w || t.outOff < len(t.out) {
		l.closeTarget(t)
		return
	}
	t.r, t.w, t.deadline, t.idleFrom = 0, 0, time.Time{}, l.now
	l.pools[u] = append(l.pools[u], t)
}

func (l *evLoop) dropIdle(t *evTarget) {
	free := l.pools[t.up]
	for i, o := range free {
		if o == t {
			l.pools[t.up] = append(free[:i], free[i+1:]...)
			return
		}
	}
}

// closeIdle closes the loop's idle connections to targets, on the loop
// (nodeConns.closeIdleNow).
func (l *evLoop) closeIdle() {
	l.post(func() {
		var idle []*evTarget
		for _, free := range l.pools {
			idle = append(idle, free...)
		}
		for _, t := range idle {
			l.closeTarget(t)
		}
	})
}

// dial opens a connection to t's target on a goroutine of the loop's
// (the node's own dialer: its connect timeout, its network, the dial
// guard), then sends the request.
func (l *evLoop) dial(t *evTarget) {
	u := t.up
	ctx, cancel := context.WithCancel(l.n.lb.ctx)
	t.cancel = cancel
	l.dials.Add(1)
	go func() {
		defer l.dials.Done()
		fd, err := dialFD(ctx, u)
		cancel()
		if !l.post(func() { l.dialed(t, fd, err) }) && fd >= 0 {
			unix.Close(fd)
			u.conns.Add(-1)
		}
	}()
}

func dialFD(ctx context.Context, u *upstream) (int, error) {
	if u.guard != nil {
		if err := u.guard.AllowDial(ctx, u.t.ID, u.t.Addr); err != nil {
			return -1, err
		}
	}
	c, err := u.dial(ctx, "tcp", u.addr)
	if err != nil {
		return -1, err
	}
	defer c.Close() // the loop's descriptor is the socket from here on
	inner := c
	if tc, ok := c.(*trackedConn); ok {
		inner = tc.Conn
	}
	sc, ok := inner.(syscall.Conn)
	if !ok {
		return -1, errors.New("alb: target connection is not a socket")
	}
	fd, err := dupFD(sc)
	if err != nil {
		return -1, fdlimit.Note(err)
	}
	u.conns.Add(1)
	return fd, nil
}

func (l *evLoop) dialed(t *evTarget, fd int, err error) {
	t.cancel = nil
	if err == nil {
		t.gen = l.nextGen()
		if rerr := l.register(fd, t, t.gen); rerr != nil {
			l.forget(fd)
			unix.Close(fd)
			t.up.conns.Add(-1)
			err = rerr
		} else {
			t.fd = fd
			t.buf = make([]byte, 16<<10)
			t.ref = &targetRef{t: t}
			t.up.t.track(t.ref)
			l.targets[t] = struct{}{}
		}
	}
	if t.c == nil { // the client went away meanwhile
		if err == nil {
			l.closeTarget(t)
		}
		return
	}
	if err != nil {
		t.c.targetFailed(err)
		return
	}
	t.deadline = l.now.Add(t.up.reply)
	t.flush()
}

// closeTarget closes t for good.
func (l *evLoop) closeTarget(t *evTarget) {
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
	if t.fd < 0 {
		return
	}
	if t.c == nil {
		l.dropIdle(t)
	}
	l.forget(t.fd)
	unix.Close(t.fd)
	t.fd = -1
	delete(l.targets, t)
	t.up.conns.Add(-1)
	if t.ref != nil {
		t.up.t.untrack(t.ref)
	}
}

func (t *evTarget) event(ev uint32) {
	if ev&unix.EPOLLOUT != 0 && len(t.out) > t.outOff {
		if !t.flush() {
			return
		}
	}
	// paused (the client is behind), it is read only when reset or hung
	// up, which epoll reports regardless: its end is read then
	if t.fd >= 0 && ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && (!t.paused || ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0) {
		t.readable()
	}
}

// flush writes the request; false when the connection failed.
func (t *evTarget) flush() bool {
	l := t.l
	for t.outOff < len(t.out) {
		k, err := rawWrite(t.fd, t.out[t.outOff:])
		if err == unix.EAGAIN {
			if !t.wantOut {
				t.wantOut = true
				l.modify(t.fd, t.events(), t.gen)
			}
			return true
		}
		if err != nil {
			t.failed(err)
			return false
		}
		t.outOff += k
	}
	t.out, t.outOff = t.out[:0], 0
	if t.wantOut {
		t.wantOut = false
		l.modify(t.fd, t.events(), t.gen)
	}
	return true
}

// events is t's epoll mask: reads unless held back behind its client,
// writes while a request is still to be written (a request's bytes are
// written on while its answer is held back).
func (t *evTarget) events() uint32 {
	var ev uint32
	if !t.paused {
		ev |= evIn
	}
	if t.wantOut {
		ev |= unix.EPOLLOUT
	}
	return ev
}

func (t *evTarget) failed(err error) {
	if c := t.c; c != nil {
		c.targetFailed(err)
	} else {
		t.l.closeTarget(t)
	}
}

func (t *evTarget) readable() {
	if t.c == nil { // idle: the target closed it (or said something unasked)
		t.l.closeTarget(t)
		return
	}
	if t.r == t.w {
		t.r, t.w = 0, 0
	} else if t.w == len(t.buf) && t.r > 0 {
		t.w = copy(t.buf, t.buf[t.r:t.w])
		t.r = 0
	}
	if t.w == len(t.buf) { // a header longer than the buffer
		if len(t.buf) >= maxRespHead {
			t.failed(errMalformed)
			return
		}
		t.buf = append(t.buf, make([]byte, len(t.buf))...)
	}
	k, err := rawRead(t.fd, t.buf[t.w:])
	if err == unix.EAGAIN {
		return
	}
	if k <= 0 || err != nil {
		t.ended(err)
		return
	}
	t.w += k
	t.deadline = t.l.now.Add(t.up.reply)
	t.relay()
}

var errMalformed = errors.New("alb: malformed response from target")

// relay turns what has come of the target's answer into the client's.
func (t *evTarget) relay() {
	c := t.c
	x := &c.x
	for {
		switch t.st {
		case rHead:
			end := bytes.Index(t.buf[t.r:t.w], []byte("\r\n\r\n"))
			if end < 0 {
				if t.w-t.r > maxRespHead {
					t.failed(errMalformed)
				}
				return
			}
			if !t.parseHead(t.buf[t.r : t.r+end+2]) {
				t.failed(errMalformed)
				return
			}
			t.r += end + 4
		case rBody:
			if t.waiting {
				if t.w == t.r {
					return // the header waits for the body's first bytes
				}
				t.writeHead(t.buf[t.r:t.r+int(min(int64(t.w-t.r), t.left, 512))], outPlain)
			}
			k := int(min(int64(t.w-t.r), t.left))
			c.out = append(c.out, t.buf[t.r:t.r+k]...)
			t.r += k
			t.left -= int64(k)
			x.bodyBytes += int64(k)
			if t.left > 0 {
				c.flush()
				return
			}
			t.st = rDone
		case rClose: // up to the target's close (ended in readable)
			if t.w == t.r {
				c.flush()
				return
			}
			t.chunk(t.buf[t.r:t.w])
			t.r = t.w
		case rChunkSize:
			i := bytes.Index(t.buf[t.r:t.w], []byte("\r\n"))
			if i < 0 {
				if t.w-t.r > 4096 {
					t.failed(errMalformed)
				}
				c.flush()
				return
			}
			size, ok := chunkSize(t.buf[t.r : t.r+i])
			if !ok {
				t.failed(errMalformed)
				return
			}
			t.r += i + 2
			if size == 0 {
				t.st = rTrailer
			} else {
				t.left, t.st = size, rChunkData
				if t.waiting && !t.flags.sniff {
					t.writeHead(nil, outChunked)
				}
			}
		case rChunkData:
			k := int(min(int64(t.w-t.r), t.left))
			if k == 0 {
				c.flush()
				return
			}
			t.chunk(t.buf[t.r : t.r+k])
			t.r += k
			t.left -= int64(k)
			if t.left == 0 {
				t.st = rChunkEnd
			}
		case rChunkEnd:
			if t.w-t.r < 2 {
				c.flush()
				return
			}
			if t.buf[t.r] != '\r' || t.buf[t.r+1] != '\n' {
				t.failed(errMalformed)
				return
			}
			t.r += 2
			t.st = rChunkSize
		case rTrailer:
			end := 0
			if t.w-t.r >= 2 && t.buf[t.r] == '\r' && t.buf[t.r+1] == '\n' {
				end = 2
			} else if i := bytes.Index(t.buf[t.r:t.w], []byte("\r\n\r\n")); i >= 0 {
				end = i + 4
			} else {
				if t.w-t.r > maxRespHead {
					t.failed(errMalformed)
				}
				c.flush()
				return
			}
			if !t.trailers(t.buf[t.r : t.r+end]) {
				t.failed(errMalformed)
				return
			}
			t.r += end
			t.st = rDone
		case rDone:
			t.done()
			return
		}
	}
}

// chunk passes one piece of a body of unknown length on, as a chunk.
func (t *evTarget) chunk(p []byte) {
	c := t.c
	if t.waiting {
		t.writeHead(p[:min(len(p), 512)], outChunked)
	}
	c.out = strconv.AppendInt(c.out, int64(len(p)), 16)
	c.out = append(c.out, "\r\n"...)
	c.out = append(c.out, p...)
	c.out = append(c.out, "\r\n"...)
	c.x.bodyBytes += int64(len(p))
}

// trailers ends a chunked body: sec is its trailer section, its empty
// line included. Every trailer field is passed on (net/http's reader
// keeps them all, and the front writes them), sorted by name.
func (t *evTarget) trailers(sec []byte) bool {
	c := t.c
	var lines [16]respLine
	fields := lines[:0]
	for rest := sec; len(rest) > 2; {
		j := bytes.Index(rest, []byte("\r\n"))
		l := rest[:j]
		rest = rest[j+2:]
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !tokenName(l[:colon]) {
			return false
		}
		k := l[:colon]
		canonical(k)
		fields = append(fields, respLine{k, bytes.Trim(l[colon+1:], " \t")})
	}
	if t.waiting { // nothing of the body came
		if len(fields) == 0 && len(t.declared) == 0 {
			t.writeHead(nil, outEmpty) // a Content-Length of 0, as the front's writer
			return true
		}
		t.writeHead(nil, outChunked)
	}
	sortLines(fields)
	c.out = append(c.out, "0\r\n"...)
	for _, f := range fields {
		c.out = append(c.out, f.k...)
		c.out = append(c.out, ": "...)
		c.out = append(c.out, f.v...)
		c.out = append(c.out, "\r\n"...)
	}
	c.out = append(c.out, "\r\n"...)
	return true
}

// ended: the target closed its side; it ends a body that runs up to the
// close, and fails any other.
func (t *evTarget) ended(err error) {
	if t.st != rClose || err != nil {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		t.failed(err)
		return
	}
	if t.waiting {
		t.writeHead(nil, outEmpty)
	} else {
		t.c.out = append(t.c.out, "0\r\n\r\n"...)
	}
	t.noReuse = true
	t.done()
}

func sortLines(ls []respLine) {
	for a := 1; a < len(ls); a++ {
		for b := a; b > 0 && bytes.Compare(ls[b-1].k, ls[b].k) > 0; b-- {
			ls[b-1], ls[b] = ls[b], ls[b-1]
		}
	}
}

// done: the answer has all come; the connection goes back for the next
// request, the client's answer out.
func (t *evTarget) done() {
	c, l := t.c, t.l
	c.x.t = nil
	t.c = nil
	if t.noReuse || t.r != t.w || t.outOff < len(t.out) { // (an answer before the whole request was written: the rest would precede the next request)
		l.closeTarget(t)
	} else {
		l.put(t)
	}
	c.complete()
}

func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, b := range line {
		switch {
		case '0' <= b && b <= '9':
			n = n<<4 | int64(b-'0')
		case 'a' <= b && b <= 'f':
			n = n<<4 | int64(b-'a'+10)
		case 'A' <= b && b <= 'F':
			n = n<<4 | int64(b-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// respLine is one header line of a target's answer, as kept.
type respLine struct{ k, v []byte }

// parseHead reads a target's response header (head ends with its last
// line's CRLF) as http.ReadResponse and the forward would take it; false
// for one that fails there (502). An informational answer is skipped; a
// final one is counted and the client's header made (written now, or
// once the body's first bytes have come: its Content-Type, its framing).
func (t *evTarget) parseHead(head []byte) bool {
	for i, b := range head {
		if b == '\n' && (i == 0 || head[i-1] != '\r') || b == '\r' && (i+1 == len(head) || head[i+1] != '\n') ||
			b < 0x20 && b != '\r' && b != '\n' && b != '\t' || b == 0x7f {
			return false
		}
	}
	i := bytes.Index(head, []byte("\r\n"))
	line, rest := head[:i], head[i+2:]
	http10 := false
	status, ok := bytes.CutPrefix(line, []byte("HTTP/1.1 "))
	if !ok {
		if status, ok = bytes.CutPrefix(line, []byte("HTTP/1.0 ")); !ok {
			return false
		}
		http10 = true
	}
	if len(status) < 3 || len(status) > 3 && status[3] != ' ' {
		return false
	}
	code := 0
	for _, b := range status[:3] {
		if b < '0' || b > '9' {
			return false
		}
		code = code*10 + int(b-'0')
	}
	if code < 100 || code == http.StatusSwitchingProtocols {
		return false
	}
	if code < 200 {
		return true // informational: the final answer follows (t.st stays rHead)
	}
	var lines [32]respLine
	kept := lines[:0] // grows past 32 as needed
	var conn [][]byte
	var declared []byte // the Trailer header's names
	var clenV, pragma []byte
	clen := int64(-1)
	hasCC := false
	for len(rest) > 0 {
		j := bytes.Index(rest, []byte("\r\n"))
		l := rest[:j]
		rest = rest[j+2:]
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !tokenName(l[:colon]) {
			return false
		}
		k := l[:colon]
		canonical(k)
		v := bytes.Trim(l[colon+1:], " \t")
		switch string(k) {
		case "Content-Length":
			if clen >= 0 { // Go's reader merges identical ones, fails different ones
				if !bytes.Equal(v, clenV) {
					return false
				}
				continue
			}
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || len(v) == 0 || v[0] == '+' {
				return false
			}
			clen, clenV = n, v
		case "Transfer-Encoding":
			if t.chunked || !bytes.EqualFold(v, []byte("chunked")) {
				return false
			}
			t.chunked = true
			continue
		case "Connection":
			conn = append(conn, v)
			continue
		case "Trailer":
			if len(declared) > 0 {
				declared = append(declared, ',')
			}
			declared = append(declared, v...)
			continue
		case "Pragma":
			if pragma == nil {
				pragma = v
			}
		case "Cache-Control":
			hasCC = true
		case "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade":
			continue // hop by hop
		}
		kept = append(kept, respLine{k, v})
	}
	if string(pragma) == "no-cache" && !hasCC { // http.ReadResponse's fixPragmaCacheControl
		kept = append(kept, respLine{[]byte("Cache-Control"), []byte("no-cache")})
	}
	bodyOK := code != http.StatusNoContent && code != http.StatusNotModified
	if t.chunked && clen >= 0 && bodyOK { // Go's reader: chunked wins, the Content-Length is dropped
		kept = dropLines(kept, []byte("Content-Length"))
		clen = -1
	}
	// Connection: close ends the target's connection after this answer
	// (HTTP/1.0: unless keep-alive); the headers it names are dropped
	keepAlive := false
	for _, v := range conn {
		for _, tok := range bytes.Split(v, []byte(",")) {
			tok = bytes.Trim(tok, " \t")
			switch {
			case len(tok) == 0:
			case bytes.EqualFold(tok, []byte("close")):
				t.noReuse = true
			case bytes.EqualFold(tok, []byte("keep-alive")):
				keepAlive = true
			default:
				if !tokenName(tok) {
					return false
				}
				canonical(tok)
				kept = dropLines(kept, tok)
			}
		}
	}
	if http10 && !keepAlive {
		t.noReuse = true
	}
	if t.chunked && len(declared) > 0 { // Go's reader keeps them as the answer's trailers; the forward declares them
		names := make([]byte, 0, len(declared)+8)
		for _, k := range bytes.Split(declared, []byte(",")) {
			if k = bytes.Trim(k, " \t"); len(k) == 0 {
				continue
			}
			if !tokenName(k) {
				return false
			}
			canonical(k)
			switch string(k) {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return false // http.ReadResponse: bad trailer key
			}
			if len(names) > 0 {
				names = append(names, ", "...)
			}
			names = append(names, k...)
			t.declared = append(t.declared, string(k))
		}
		if len(names) > 0 {
			kept = append(kept, respLine{[]byte("Trailer"), names})
		}
	}
	c := t.c
	x := &c.x
	now := t.l.now
	x.got, x.tstatus = now, code
	fp := x.fp
	fp.m.TargetResponseTimeNanos.Add(int64(now.Sub(x.sent)))
	fp.m.TargetResponses.Add(1)
	fp.m.targetStatus(code)
	fp.g.status(code)
	if fp.o != nil {
		fp.o.requests.Add(1)
		if code >= 500 {
			fp.o.errors.Add(1)
		}
	}
	if x.keepExpired { // the handler's own header, among the target's
		kept = append(kept, respLine{[]byte("Connection"), []byte("close")})
	}
	sortLines(kept) // as http.Header.Write writes them; a name's values keep their order
	h := appendStatusLine(t.head[:0], code)
	var hasType, hasCE, hasDate bool
	for _, l := range kept {
		x.hdrBytes += int64(len(l.k) + len(l.v) + 4)
		if !bodyOK && (string(l.k) == "Content-Length" || code == http.StatusNotModified && string(l.k) == "Content-Type") {
			continue
		}
		switch string(l.k) {
		case "Content-Type":
			hasType = true
		case "Content-Encoding":
			hasCE = hasCE || len(l.v) > 0
		case "Date":
			hasDate = true
		}
		h = append(h, l.k...)
		h = append(h, ": "...)
		h = append(h, l.v...)
		h = append(h, "\r\n"...)
	}
	t.head = h
	t.flags = headFlags{sniff: bodyOK && !hasType && !hasCE, hasDate: hasDate, bodyOK: bodyOK}
	switch {
	case !bodyOK || clen == 0:
		t.writeHead(nil, outPlain)
		t.st = rDone
	case t.chunked: // the header waits for the first chunk (an empty body gets a Content-Length)
		t.waiting, t.st = true, rChunkSize
	case clen < 0: // up to the target's close, chunked on to the client
		t.waiting, t.st, t.noReuse = true, rClose, true
	default:
		t.st, t.left = rBody, clen
		if t.flags.sniff {
			t.waiting = true // the header waits for the body's first bytes
		} else {
			t.writeHead(nil, outPlain)
		}
	}
	return true
}

// dropLines drops the lines named k.
func dropLines(ls []respLine, k []byte) []respLine {
	out := ls[:0]
	for _, l := range ls {
		if !bytes.Equal(l.k, k) {
			out = append(out, l)
		}
	}
	return out
}

type headFlags struct{ sniff, hasDate, bodyOK bool }

// The client's framing of an answer whose header waited.
const (
	outPlain   = iota // its Content-Length, or no body
	outEmpty          // a body of unknown length that came empty: Content-Length: 0
	outChunked        // a body of unknown length: chunked
)

// writeHead ends the client's header as the front's writer does (a
// Content-Length of 0, Date, Content-Type sniffed from body, Connection:
// close, Transfer-Encoding: chunked) and queues it.
func (t *evTarget) writeHead(body []byte, framing int) {
	c := t.c
	x := &c.x
	f := t.flags
	h := t.head
	if framing == outEmpty {
		h = append(h, "Content-Length: 0\r\n"...)
	}
	if !f.hasDate {
		h = append(h, "Date: "...)
		h = appendDate(h, t.l.now)
		h = append(h, "\r\n"...)
	}
	if f.sniff && len(body) > 0 {
		h = append(h, "Content-Type: "...)
		h = append(h, http.DetectContentType(body)...)
		h = append(h, "\r\n"...)
	}
	if x.closeAfter && !x.keepExpired {
		h = append(h, "Connection: close\r\n"...)
	}
	if framing == outChunked && f.bodyOK {
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	}
	h = append(h, "\r\n"...)
	t.head = h
	c.out = append(c.out, h...)
	t.waiting = false
	x.headSent, x.resp, x.status = true, t.l.now, x.tstatus
}

// targetRef is a loop's target connection as its Target tracks it:
// closeConns (the deregistration delay has ended) cuts it.
type targetRef struct{ t *evTarget }

func (r *targetRef) Close() error {
	t := r.t
	t.l.post(func() {
		if t.fd < 0 {
			return
		}
		if t.c != nil {
			t.c.targetFailed(errUpstreamClosed)
		} else {
			t.l.closeTarget(t)
		}
	})
	return nil
}
func (r *targetRef) Read([]byte) (int, error)         { return 0, errLoopOwned }
func (r *targetRef) Write([]byte) (int, error)        { return 0, errLoopOwned }
func (r *targetRef) LocalAddr() net.Addr              { return nil }
func (r *targetRef) RemoteAddr() net.Addr             { return nil }
func (r *targetRef) SetDeadline(time.Time) error      { return nil }
func (r *targetRef) SetReadDeadline(time.Time) error  { return nil }
func (r *targetRef) SetWriteDeadline(time.Time) error { return nil }

// tokenName says whether k is a header name net/textproto reads: any
// token character (RFC 9110), '_' and '.' too.
func tokenName(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// canonical makes a header name of token characters canonical in place,
// as textproto.CanonicalMIMEHeaderKey.
func canonical(k []byte) {
	upper := true
	for i, b := range k {
		if upper && 'a' <= b && b <= 'z' {
			k[i] = b - 'a' + 'A'
		} else if !upper && 'A' <= b && b <= 'Z' {
			k[i] = b - 'A' + 'a'
		}
		upper = b == '-'
	}
}
