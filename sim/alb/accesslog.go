package alb

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The access log: one line per request in the ALB's field order
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html):
//
//	type time elb client:port target:port request_processing_time
//	target_processing_time response_processing_time elb_status_code
//	target_status_code received_bytes sent_bytes "request" "user_agent"
//	ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//	"chosen_cert_arn" matched_rule_priority request_creation_time
//	"actions_executed" "redirect_url" "error_reason" "target:port_list"
//	"target_status_code_list" "classification" "classification_reason"
//	conn_trace_id
//
// time and request_creation_time are AWS times; the three processing
// times are request (wall) seconds, the unit of TargetResponseTime in the
// lab's CloudWatch and of the load generator's latencies. The
// nodes hand entries to one writer goroutine owned by the load balancer
// through a buffered channel (it writes them out within
// accessFlushEvery); a full channel drops the entry (AWS's own
// logs are best effort) and counts it, so logging never blocks a request.

// accessEntry is one request, as the node saw it; the writer formats it.
type accessEntry struct {
	h2           bool
	created, end time.Time // AWS
	client       string
	target       string
	group        string  // the target group that served it ("": the load balancer's own)
	reqProc      float64 // wall seconds; -1: not dispatched
	targetProc   float64
	respProc     float64
	elbStatus    int
	targetStatus int // 0: none
	received     int64
	sent         int64
	method       string
	host         string
	uri          string
	proto        string
	userAgent    string
	traceID      string
	connID       uint64
	verdict      Verdict // classification, classification_reason
	rule         int     // matched_rule_priority: 0 the default rule
	action       string  // actions_executed; "" is forward
	redirect     string  // redirect_url
}

type accessLog struct {
	ch      chan accessEntry
	w       *bufio.Writer
	dst     io.Writer
	elb     string            // the load balancer's resource id, app/NAME/ID
	tgARN   string            // the load balancer's own target group's
	tgARNs  map[string]string // every target group's, by name
	port    int
	done    chan struct{}
	stop    chan struct{} // closed by close: write the rest now
	dropped atomic.Int64
	once    sync.Once

	// the writer's own (format): the last second formatted, up to its
	// fraction, so that a line's two times cost a few appends
	stampSec int64
	stamp    []byte
}

func newAccessLog(dst io.Writer, elb, tgARN string, tgARNs map[string]string, port int) *accessLog {
	return &accessLog{ch: make(chan accessEntry, accessQueue), w: bufio.NewWriterSize(dst, 64<<10), dst: dst,
		elb: elb, tgARN: tgARN, tgARNs: tgARNs, port: port, done: make(chan struct{}), stop: make(chan struct{})}
}

// run writes entries until close. It wakes every accessFlushEvery,
// writes what has been queued since and flushes: not after every entry,
// since a wake-up per request (and a write to the file per request) would
// cost the node as much as a request's own work. AWS delivers its logs
// every 5 minutes. The queue holds accessQueue entries, some 160,000
// requests a second at this pace; more are dropped and counted.
func (a *accessLog) run() {
	defer close(a.done)
	tick := time.NewTicker(accessFlushEvery)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case <-tick.C:
		case <-a.stop:
		}
		for n, drained := 0, false; !drained; n++ {
			if n > 0 && n%accessYieldEvery == 0 {
				runtime.Gosched()
			}
			select {
			case e, ok := <-a.ch:
				if !ok {
					a.w.Flush()
					return
				}
				buf = a.format(buf[:0], &e)
				a.w.Write(buf)
			default:
				drained = true
			}
		}
		a.w.Flush()
	}
}

// accessFlushEvery is how long an access-log line may wait before it is
// written (wall time); accessQueue how many may wait.
//
// accessYieldEvery is how many lines the writer formats before it lets
// other goroutines run. The node's event loop shares the process's Ps with
// it (one P in bench-alb, and in a lab run while internal/procs gives it
// one), and Go preempts a running goroutine only after 10 ms: a batch of
// 50 ms at 20,000 requests a second is 1,000 lines, about 0.25 ms of
// formatting alone (BenchmarkAccessLogFormat: 241 ns a line on the 2-core
// VM we measure on) during which the loop, woken by its connections,
// would wait.
const (
	accessFlushEvery = 50 * time.Millisecond
	accessQueue      = 8192
	accessYieldEvery = 64
)

// add queues e; it never blocks.
func (a *accessLog) add(e *accessEntry) {
	select {
	case a.ch <- *e:
	default:
		a.dropped.Add(1)
	}
}

// close stops taking entries, writes what is queued and flushes.
func (a *accessLog) close() {
	a.once.Do(func() { close(a.ch); close(a.stop) })
	<-a.done
}

func (a *accessLog) format(b []byte, e *accessEntry) []byte {
	if e.h2 {
		b = append(b, "h2 "...)
	} else {
		b = append(b, "http "...)
	}
	b = a.appendStamp(b, e.end)
	b = append(b, ' ')
	b = append(b, a.elb...)
	b = append(b, ' ')
	b = append(b, e.client...)
	b = append(b, ' ')
	b = dash(b, e.target)
	for _, s := range [3]float64{e.reqProc, e.targetProc, e.respProc} {
		b = append(b, ' ')
		if s < 0 {
			b = append(b, "-1"...)
		} else {
			b = strconv.AppendFloat(b, s, 'f', 3, 64)
		}
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.elbStatus), 10)
	b = append(b, ' ')
	b = status(b, e.targetStatus)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.received, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.sent, 10)
	b = append(b, ` "`...)
	b = quoted(b, e.method)
	b = append(b, " http://"...)
	host := e.host
	if host == "" {
		host = "-"
	}
	b = quoted(b, host)
	if !strings.Contains(host, ":") {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(a.port), 10)
	}
	b = quoted(b, e.uri)
	b = append(b, ' ')
	b = quoted(b, e.proto)
	b = append(b, `" "`...)
	b = quoted(b, e.userAgent)
	b = append(b, `" - - `...) // ssl_cipher ssl_protocol: an HTTP listener
	if arn, ok := a.tgARNs[e.group]; ok {
		b = append(b, arn...) // target_group_arn: the group that served it
	} else {
		b = append(b, a.tgARN...)
	}
	b = append(b, ` "`...)
	b = quoted(b, dashed(e.traceID))
	b = append(b, `" "-" "-" `...)              // domain_name chosen_cert_arn
	b = strconv.AppendInt(b, int64(e.rule), 10) // matched_rule_priority: 0 the default rule
	b = append(b, ' ')
	b = a.appendStamp(b, e.created)
	b = append(b, ` "`...)
	if e.action == "" {
		b = append(b, ActionForward...) // actions_executed
	} else {
		b = append(b, e.action...)
	}
	b = append(b, `" "`...)
	b = quoted(b, dashed(e.redirect)) // redirect_url
	b = append(b, `" "-" "`...)       // error_reason
	b = dash(b, e.target)
	b = append(b, `" "`...)
	b = status(b, e.targetStatus)
	if e.verdict.Class == Compliant { // classification classification_reason: "-" for a compliant request
		b = append(b, `" "-" "-" TID_`...)
	} else {
		b = append(b, `" "`...)
		b = append(b, e.verdict.Class.String()...)
		b = append(b, `" "`...)
		b = append(b, e.verdict.Reason...)
		b = append(b, `" TID_`...)
	}
	b = strconv.AppendUint(b, e.connID, 16)
	return append(b, '\n')
}

// stampLayout is the log's time format (ISO 8601, microseconds, UTC).
const stampLayout = "2006-01-02T15:04:05.000000Z"

// appendStamp appends t as t.UTC().AppendFormat(b, stampLayout) does,
// formatting each second once.
func (a *accessLog) appendStamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != a.stampSec || a.stamp == nil {
		a.stampSec, a.stamp = sec, t.AppendFormat(a.stamp[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, a.stamp...)
	us := t.Nanosecond() / 1000 // truncated, as the layout's fraction is
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	b = append(b, d[:]...)
	return append(b, 'Z')
}

func dash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func status(b []byte, code int) []byte {
	if code == 0 {
		return append(b, '-')
	}
	return strconv.AppendInt(b, int64(code), 10)
}

// quoted appends s with quotes, backslashes and control bytes escaped, so
// that a quoted field never ends early.
func quoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

// exchange is one request's record while the node serves it: it wraps the
// response writer (status, bytes) and is the request's context, so that
// the transport can note when the request left and the answer came.
type exchange struct {
	context.Context
	w            http.ResponseWriter
	n            *Node
	start        time.Time // wall
	sent, got    time.Time // wall: request to the target, its response headers
	respStart    time.Time // wall: the node started answering
	target       string
	group        string // the target's group ("": the load balancer's own)
	status       int
	targetStatus int
	bytes        int64
	headerBytes  int64
	verdict      Verdict
	rule         int    // the matched rule's priority; 0: the default
	action       string // the action carried out; "": forward
	redirect     string // a redirect action's URL
}

type exchangeKey struct{}

func (e *exchange) Value(k any) any {
	if k == (exchangeKey{}) {
		return e
	}
	return e.Context.Value(k)
}

func (e *exchange) Header() http.Header { return e.w.Header() }

func (e *exchange) WriteHeader(code int) {
	if e.status == 0 && code >= 200 {
		e.status = code
		e.respStart = time.Now()
		for k, vs := range e.w.Header() {
			for _, v := range vs {
				e.headerBytes += int64(len(k) + len(v) + 4)
			}
		}
	}
	e.w.WriteHeader(code)
}

func (e *exchange) Write(p []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	n, err := e.w.Write(p)
	e.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (e *exchange) Unwrap() http.ResponseWriter { return e.w }

// exchangeOf is the exchange a request runs in, if access logging is on.
func exchangeOf(r *http.Request) *exchange {
	e, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return e
}

// finish turns the exchange into a log entry.
func (e *exchange) finish(r *http.Request, ci *connInfo) {
	n := e.n
	c := n.lb.cfg.Clock
	speed := c.Speed()
	end := time.Now()
	en := accessEntry{
		h2: r.ProtoMajor == 2, end: n.lb.awsAt(end), client: r.RemoteAddr, target: e.target, group: e.group,
		reqProc: -1, targetProc: -1, respProc: -1, elbStatus: e.status, targetStatus: e.targetStatus,
		sent: e.bytes + e.headerBytes + int64(len(r.Proto)+16), method: r.Method, host: r.Host, uri: r.RequestURI, proto: r.Proto,
		userAgent: r.Header.Get("User-Agent"), traceID: r.Header.Get("X-Amzn-Trace-Id"), verdict: e.verdict,
		rule: e.rule, action: e.action, redirect: e.redirect,
	}
	en.complete(r, e.start, e.sent, e.got, e.respStart, end, speed)
	if ci != nil {
		en.connID = ci.id
	}
	n.lb.access.add(&en)
}

// complete fills in what an entry derives from its request and its
// exchange's times (wall clock; start, sent to the target, its answer's
// head got, the answer's first byte written, end): when it was created
// in AWS time, the status when none was set (200), the three processing
// times (-1 for a step not reached) and the bytes received. Both fronts'
// exchanges end here (exchange.finish, the event loop's logExchange).
func (en *accessEntry) complete(r *http.Request, start, sent, got, resp, end time.Time, speed float64) {
	en.created = en.end.Add(-time.Duration(float64(end.Sub(start)) * speed))
	if en.elbStatus == 0 {
		en.elbStatus = http.StatusOK
	}
	if !sent.IsZero() {
		en.reqProc = sent.Sub(start).Seconds()
		if !got.IsZero() {
			en.targetProc = got.Sub(sent).Seconds()
			if !resp.IsZero() {
				en.respProc = max(0, resp.Sub(got)).Seconds()
			}
		}
	}
	en.received = int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4)
	for k, vs := range r.Header {
		for _, v := range vs {
			en.received += int64(len(k) + len(v) + 4)
		}
	}
	if r.ContentLength > 0 {
		en.received += r.ContentLength
	}
}

// logRejected logs a request Go's server rejected before the node's
// handler saw it (clientconn.go): what of its request line could be read,
// the ELB's status, no target.
func (n *Node) logRejected(c *clientConn, h *reqHead, code int, sent int64) {
	now := n.lb.cfg.Clock.Now()
	en := accessEntry{end: now, created: now, client: c.RemoteAddr().String(), reqProc: -1, targetProc: -1, respProc: -1,
		elbStatus: code, received: int64(h.size), sent: sent, method: "-", host: "-", uri: "-", proto: "-",
		connID: c.id, verdict: h.verdict}
	var v Verdict
	if m, u, p := splitRequestLine(h.line, &v); len(m) > 0 {
		en.method = string(m)
		if len(u) > 0 {
			en.uri = string(u)
		}
		if len(p) > 0 {
			en.proto = string(p)
		}
	}
	n.lb.access.add(&en)
}
