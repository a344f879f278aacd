package alb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/simplydone/lab/internal/fdlimit"
)

// Prober runs one health check against one target.
type Prober interface {
	Probe(ctx context.Context, target netip.AddrPort) Result
}

// HTTPProber is the ALB's HTTP health check: GET Path with
// User-Agent ELB-HealthChecker/2.0 and Host set to the target's address, a
// fresh connection every time, success when Matches says so.
type HTTPProber struct {
	Path    string
	Timeout time.Duration // wall time
	Matches func(code int) bool
	client  *http.Client
}

// NewHTTPProber builds a prober; timeout is in wall time.
func NewHTTPProber(path string, timeout time.Duration, matches func(int) bool) *HTTPProber {
	return NewHTTPProberDial(path, timeout, matches, nil)
}

// NewHTTPProberDial is NewHTTPProber connecting through dial (nil: the
// host's network).
func NewHTTPProberDial(path string, timeout time.Duration, matches func(int) bool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *HTTPProber {
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout}).DialContext
	}
	tr := &http.Transport{
		DisableKeepAlives: true, // the node closes the connection after every check
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, fdlimit.Note(err) // the lab's own process out of descriptors is counted
			}
			return c, nil
		},
		Proxy: nil,
	}
	return &HTTPProber{Path: path, Timeout: timeout, Matches: matches, client: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Probe implements Prober.
func (p *HTTPProber) Probe(ctx context.Context, target netip.AddrPort) Result {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target.String()+p.Path, nil)
	if err != nil {
		return Result{Reason: ReasonFailedHealthChecks, Detail: err.Error()}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := p.client.Do(req)
	if err != nil {
		if isTimeout(err) {
			return Result{Reason: ReasonTimeout, Detail: "Request timed out"}
		}
		return Result{Reason: ReasonFailedHealthChecks, Detail: "Health checks failed"}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !p.Matches(resp.StatusCode) {
		return Result{Reason: ReasonResponseCodeMismatch, Detail: fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)}
	}
	return Result{OK: true}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
