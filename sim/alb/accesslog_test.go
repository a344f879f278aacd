package alb

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/clock"
)

// field is one access-log field: a quoted string (with \" escapes) or a
// run of non-blanks.
var field = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|[^ ]+`)

// The ALB's access-log fields, in order.
var accessFields = []string{"type", "time", "elb", "client:port", "target:port", "request_processing_time",
	"target_processing_time", "response_processing_time", "elb_status_code", "target_status_code", "received_bytes",
	"sent_bytes", "request", "user_agent", "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name",
	"chosen_cert_arn", "matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url",
	"error_reason", "target:port_list", "target_status_code_list", "classification", "classification_reason",
	"conn_trace_id"}

func parseAccessLine(t *testing.T, line string) map[string]string {
	t.Helper()
	fs := field.FindAllString(line, -1)
	if len(fs) != len(accessFields) {
		t.Fatalf("%d fields, want %d: %s", len(fs), len(accessFields), line)
	}
	out := map[string]string{}
	for i, f := range fs {
		if strings.HasPrefix(f, `"`) {
			f = f[1 : len(f)-1]
		}
		out[accessFields[i]] = f
	}
	return out
}

func TestAccessLogLinesInALBFieldOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clk, _ := clock.NewScaled(protoSpeed)
	h := newHarness(t, func(c *Config) { c.Clock = clk; c.AccessLog = f; c.Name = "shop"; c.IdleTimeout = 60 * time.Second })
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond) // 2 AWS seconds at 100x
		}
		w.Write([]byte("hello"))
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	url := h.lb.Nodes()[0].URL()
	before := clk.Now()
	req, _ := http.NewRequest("GET", url+"/slow?q=1", nil)
	req.Header.Set("User-Agent", `lab "test" 1.0`)
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	get(t, url+"/"+strings.Repeat("p", 17<<10)) // 414 from the node itself
	after := clk.Now()
	if err := h.lb.Close(); err != nil { // flushes the log
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per request:\n%s", len(lines), b)
	}

	ok := parseAccessLine(t, lines[0])
	at, err := time.Parse(time.RFC3339Nano, ok["time"])
	if err != nil || at.Before(before) || at.After(after) {
		t.Fatalf("time %s (%v) is not AWS time in [%s, %s]", ok["time"], err, before, after)
	}
	created, _ := time.Parse(time.RFC3339Nano, ok["request_creation_time"])
	if created.After(at) || at.Sub(created) < 2*time.Second {
		t.Fatalf("request_creation_time %s, time %s: want at least 2 AWS s apart", created, at)
	}
	tp, _ := strconv.ParseFloat(ok["target_processing_time"], 64)
	if tp < 0.02 || tp > 5 { // request (wall) seconds, as TargetResponseTime
		t.Fatalf("target_processing_time %s, want the target's 20 ms: %s", ok["target_processing_time"], lines[0])
	}
	want := map[string]string{
		"type": "http", "elb": h.lb.Dimension(), "target:port": a.String(), "elb_status_code": "200", "target_status_code": "200",
		"request": "GET http://" + url[len("http://"):] + "/slow?q=1 HTTP/1.1", "user_agent": `lab \"test\" 1.0`,
		"ssl_cipher": "-", "ssl_protocol": "-", "target_group_arn": h.lb.TargetGroupARN(),
		"trace_id": "Root=1-67891233-abcdef012345678912345678", "matched_rule_priority": "0", "actions_executed": "forward",
		"target:port_list": a.String(), "target_status_code_list": "200", "classification": "-",
	}
	for k, v := range want {
		if ok[k] != v {
			t.Errorf("%s = %q, want %q", k, ok[k], v)
		}
	}
	if !strings.HasPrefix(h.lb.Dimension(), "app/shop/") || !strings.HasPrefix(ok["target_group_arn"], "arn:aws:elasticloadbalancing:us-east-1:") {
		t.Errorf("names %s %s", h.lb.Dimension(), ok["target_group_arn"])
	}
	if n, _ := strconv.Atoi(ok["sent_bytes"]); n < len("hello") {
		t.Errorf("sent_bytes %s", ok["sent_bytes"])
	}
	if !strings.HasPrefix(ok["conn_trace_id"], "TID_") {
		t.Errorf("conn_trace_id %q", ok["conn_trace_id"])
	}

	long := parseAccessLine(t, lines[1])
	for k, v := range map[string]string{"elb_status_code": "414", "target_status_code": "-", "target:port": "-",
		"request_processing_time": "-1", "target_processing_time": "-1", "response_processing_time": "-1"} {
		if long[k] != v {
			t.Errorf("414 line: %s = %q, want %q", k, long[k], v)
		}
	}
	if n, _ := strconv.Atoi(long["received_bytes"]); n < 17<<10 {
		t.Errorf("414 line: received_bytes %s", long["received_bytes"])
	}
}

// The access log's times are what time.Time's own formatting gives,
// however the seconds follow one another (a cached second included).
func TestAccessLogStampIsTimeFormat(t *testing.T) {
	a := &accessLog{}
	base := time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)
	steps := []time.Duration{0, 999_999, 1_000, 999_999_999, 1, 123_456_789, -2 * time.Second, 24 * time.Hour, time.Nanosecond}
	at := base
	for i := 0; i < 200; i++ {
		at = at.Add(steps[i%len(steps)] + time.Duration(i)*7_777_777)
		for _, tm := range []time.Time{at, at.In(time.FixedZone("X", -5*3600))} {
			want := tm.UTC().AppendFormat(nil, stampLayout)
			if got := a.appendStamp([]byte("x"), tm); string(got[1:]) != string(want) {
				t.Fatalf("%v: %q, want %q", tm, got[1:], want)
			}
		}
	}
}
