package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// dialTimeout bounds Dial when its context has no deadline.
const dialTimeout = 20 * time.Second

// Client is a controller's connection to one agent.
type Client struct {
	addr string
	base string
	auth string
	tr   *http.Transport
	hc   *http.Client
	info Info
}

// Dial connects to the agent at addr (host:port), checks that it holds
// token (the TLS handshake: the client pins the key the token derives and
// sends its credential only to that agent) and reads its Info. The errors
// say which of the three it is: ErrUnreachable, ErrWrongToken, ErrNotAgent.
func Dial(ctx context.Context, addr string, token []byte) (*Client, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("agent %q: %v; allowed: host:port, e.g. 169.254.1.250:7450", addr, err)
	}
	tc, err := clientTLS(token)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", addr, err)
	}
	tr := &http.Transport{
		TLSClientConfig:     tc,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Client{addr: addr, base: "https://" + addr, auth: "Bearer " + bearer(token), tr: tr, hc: &http.Client{Transport: tr}}
	if _, ok := ctx.Deadline(); !ok { // a peer that accepts and never answers
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	if err := c.do(ctx, http.MethodGet, "/v1/info", nil, &c.info); err != nil {
		tr.CloseIdleConnections()
		return nil, c.dialError(err)
	}
	if !c.info.Subnet.IsValid() || c.info.Version == "" {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("%s is %w: GET /v1/info said %+v", addr, ErrNotAgent, c.info)
	}
	return c, nil
}

// dialError says what went wrong in Dial in the user's terms.
func (c *Client) dialError(err error) error {
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.Is(err, ErrWrongToken):
		return err
	case errors.Is(err, errNotThisToken):
		return fmt.Errorf("agent %s refused: %w: %w", c.addr, ErrWrongToken, err)
	case errors.As(err, &rec), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s is %w: it does not speak TLS", c.addr, ErrNotAgent)
	case errors.As(err, &op) && op.Op == "dial", errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.addr, err)
	case errors.Is(err, errBadAnswer):
		return fmt.Errorf("%s is %w: %w", c.addr, ErrNotAgent, err)
	}
	return fmt.Errorf("agent %s: %w", c.addr, err)
}

// Info is what the agent said of itself when dialled.
func (c *Client) Info() Info { return c.info }

// Addr is the agent's address.
func (c *Client) Addr() string { return c.addr }

// Close drops the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// errBadAnswer: the answer is not an agent's.
var errBadAnswer = errors.New("unexpected answer")

// do sends one request with the credential and decodes a JSON answer into
// out (nil: none expected). An error answer becomes a remoteError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doLimit(ctx, method, path, in, out, maxAnswer)
}

// maxAnswer bounds an answer's size; a load share's raw results may be
// larger (maxLoadAnswer, load.go).
const maxAnswer = 16 << 20

// doLimit is do with answers of up to limit bytes.
func (c *Client) doLimit(ctx context.Context, method, path string, in, out any, limit int64) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.auth)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Code == "" {
			return fmt.Errorf("%s %s: %w: status %s", method, path, errBadAnswer, resp.Status)
		}
		return &remoteError{msg: fmt.Sprintf("agent %s: %s", c.addr, eb.Message), is: sentinel(eb.Code)}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok { // the answer as it came (a node's access log)
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w: %v", method, path, errBadAnswer, err)
	}
	return nil
}
