package alb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Sticky sessions (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html).
//
// Duration-based (lb_cookie): the load balancer routes a request without
// a valid cookie by the target group's algorithm and answers with AWSALB,
// which encodes the chosen target, and AWSALBCORS, the same value with
// SameSite=None; Secure for cross-origin requests. A request whose cookie
// names a target routes there while the stickiness duration lasts. "If
// the cookie is present but cannot be decoded, or if it refers to a
// target that was deregistered or is unhealthy, the load balancer selects
// a new target and updates the cookie with information about the new
// target." [derived] "For both stickiness types, the Application Load
// Balancer resets the expiry of the cookies it generates after every
// request": every answer re-sends the cookie with the binding's end at
// now + duration, so a user who keeps coming back within the duration
// stays, and one idle longer is routed anew.
//
// Application-based (app_cookie): when the target's answer sets the
// application's cookie, the load balancer adds AWSALBAPP binding the
// client to that target for the duration; requests carrying it route
// there. "In subsequent responses, the expiry of the AWSALBAPP cookie and
// the duration configured on the load balancer are reset": every answer
// to a request with a live binding re-sends AWSALBAPP. When the bound
// target is unhealthy or deregistered the load balancer "treats the
// session as now being 'stuck' to the new healthy target": the answer
// binds the client to the new target.
//
// AWS encrypts its cookies with a rotating key; the lab seals the target's
// id and the binding's end with AES-GCM under a key made for each run, so
// the value says nothing to a client and cannot be forged.

// Stickiness types.
const (
	StickinessLBCookie  = "lb_cookie"
	StickinessAppCookie = "app_cookie"
)

// Cookie names the load balancer sets.
const (
	CookieAWSALB     = "AWSALB"
	CookieAWSALBCORS = "AWSALBCORS"
	CookieAWSALBAPP  = "AWSALBAPP"
	// a weighted forward's target group stickiness (groups.go)
	CookieAWSALBTG     = "AWSALBTG"
	CookieAWSALBTGCORS = "AWSALBTGCORS"
)

// Stickiness is the target group's sticky sessions; an empty Type is off.
type Stickiness struct {
	Type       string        // lb_cookie or app_cookie
	Duration   time.Duration // 1 s to 7 days
	CookieName string        // app_cookie: the application's cookie
}

// cookieLifetime is the Expires AWS gives its stickiness cookies: 7 days
// [observed], whatever the stickiness duration (the binding's end is in
// the value).
const cookieLifetime = 7 * 24 * time.Hour

type sticky struct {
	cfg  Stickiness
	aead cipher.AEAD
}

func newSticky(cfg Stickiness) (*sticky, error) {
	switch cfg.Type {
	case StickinessLBCookie, StickinessAppCookie:
	default:
		return nil, fmt.Errorf("stickiness type %q: use lb_cookie or app_cookie", cfg.Type)
	}
	if cfg.Duration < time.Second || cfg.Duration > 7*24*time.Hour {
		return nil, fmt.Errorf("stickiness duration %s: use 1s to 7 days", cfg.Duration)
	}
	if cfg.Type == StickinessAppCookie && cfg.CookieName == "" {
		return nil, fmt.Errorf("app_cookie stickiness needs the application's cookie name")
	}
	aead, err := newAEAD()
	if err != nil {
		return nil, err
	}
	return &sticky{cfg: cfg, aead: aead}, nil
}

// newAEAD is AES-GCM under a key made now: a run's cookies cannot be
// forged, and a cookie of another run does not open.
func newAEAD() (cipher.AEAD, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("stickiness key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// binding is what a cookie holds: a target and when the binding ends.
type binding struct {
	target az.InstanceID
	until  time.Time
}

func (s *sticky) name() string {
	if s.cfg.Type == StickinessAppCookie {
		return CookieAWSALBAPP
	}
	return CookieAWSALB
}

// seal encrypts b into a cookie value.
func (s *sticky) seal(b binding) string { return sealBinding(s.aead, b.until, []byte(b.target)) }

// open decrypts a cookie value; false when it cannot be decoded.
func (s *sticky) open(v string) (binding, bool) {
	until, what, ok := openBinding(s.aead, v)
	return binding{until: until, target: az.InstanceID(what)}, ok
}

// sealBinding encrypts a binding (what: a target's id, or a target
// group's name) and its end into a cookie value.
func sealBinding(aead cipher.AEAD, until time.Time, what []byte) string {
	plain := make([]byte, 8, 8+len(what))
	binary.BigEndian.PutUint64(plain, uint64(until.UnixNano()))
	plain = append(plain, what...)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil))
}

// openBinding decrypts a cookie value sealBinding made; false when it
// cannot be decoded.
func openBinding(aead cipher.AEAD, v string) (until time.Time, what []byte, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	ns := aead.NonceSize()
	if err != nil || len(raw) < ns {
		return time.Time{}, nil, false
	}
	plain, err := aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil || len(plain) < 8 {
		return time.Time{}, nil, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(plain))), plain[8:], true
}

// route finds the route r's cookie binds it to: its index in routes; -1
// when there is no cookie, it cannot be decoded, it is stale, or its
// target is not among routes (unhealthy, draining, gone). bound says the
// cookie held a live binding (whether or not its target is routable).
func (s *sticky) route(r *http.Request, routes []Route, now time.Time) (i int, bound bool) {
	v := cookieValue(r, s.name())
	if v == "" {
		return -1, false
	}
	b, ok := s.open(v)
	if !ok || !now.Before(b.until) {
		return -1, false
	}
	for i := range routes {
		if routes[i].Target.ID == b.target {
			return i, true
		}
	}
	return -1, true
}

// cookieValue is the value of the request's cookie called name, without
// parsing every cookie.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if k, v, ok := strings.Cut(part, "="); ok && k == name {
				return v
			}
		}
	}
	return ""
}

// stickyWriter adds the stickiness cookies to the answer when its header
// goes out (after the target's own headers are copied in).
type stickyWriter struct {
	http.ResponseWriter
	s     *sticky // nil: no target stickiness (only a group's, tg)
	tg    string  // the AWSALBTG value to send (groups.go); "": none
	b     binding // the binding to send: the target, until now + duration
	now   time.Time
	bound bool // the request carried a live binding (app_cookie: re-send it)
	done  bool
}

func (w *stickyWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.addCookies()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *stickyWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *stickyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *stickyWriter) addCookies() {
	h := w.ResponseWriter.Header()
	if w.tg != "" {
		exp := w.now.Add(cookieLifetime).UTC().Format(http.TimeFormat)
		h["Set-Cookie"] = append(h["Set-Cookie"], CookieAWSALBTG+"="+w.tg+"; Expires="+exp+"; Path=/",
			CookieAWSALBTGCORS+"="+w.tg+"; Expires="+exp+"; Path=/; SameSite=None; Secure")
	}
	if w.s == nil {
		return
	}
	if w.s.cfg.Type == StickinessAppCookie && !w.bound && !setsCookie(h, w.s.cfg.CookieName) {
		return // no binding yet, and the application set no cookie to make one
	}
	v := w.s.seal(w.b)
	exp := w.now.Add(cookieLifetime).UTC().Format(http.TimeFormat)
	h["Set-Cookie"] = append(h["Set-Cookie"], w.s.name()+"="+v+"; Expires="+exp+"; Path=/")
	if w.s.cfg.Type == StickinessLBCookie {
		h["Set-Cookie"] = append(h["Set-Cookie"], CookieAWSALBCORS+"="+v+"; Expires="+exp+"; Path=/; SameSite=None; Secure")
	}
}

// setsCookie says whether the answer sets the cookie called name.
func setsCookie(h http.Header, name string) bool {
	for _, c := range h["Set-Cookie"] {
		if k, _, ok := strings.Cut(c, "="); ok && strings.TrimSpace(k) == name {
			return true
		}
	}
	return false
}
