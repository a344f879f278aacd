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
// target." [derived] The duration runs from when the target was chosen;
// later answers re-send the same binding.
//
// Application-based (app_cookie): when the target's answer sets the
// application's cookie, the load balancer adds AWSALBAPP binding the
// client to that target for the duration; requests carrying it route
// there. The load balancer inserts a new stickiness cookie only when the
// application's answer sets its cookie anew (AWS's page).
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
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("stickiness key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sticky{cfg: cfg, aead: aead}, nil
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
func (s *sticky) seal(b binding) string {
	plain := make([]byte, 8, 8+len(b.target))
	binary.BigEndian.PutUint64(plain, uint64(b.until.UnixNano()))
	plain = append(plain, b.target...)
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil))
}

// open decrypts a cookie value; false when it cannot be decoded.
func (s *sticky) open(v string) (binding, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns {
		return binding{}, false
	}
	plain, err := s.aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil || len(plain) < 8 {
		return binding{}, false
	}
	return binding{until: time.Unix(0, int64(binary.BigEndian.Uint64(plain))), target: az.InstanceID(plain[8:])}, true
}

// route finds the route r's cookie binds it to: its index in routes, and
// the binding; -1 when there is no cookie, it cannot be decoded, it is
// stale, or its target is not among routes (unhealthy, draining, gone).
func (s *sticky) route(r *http.Request, routes []Route, now time.Time) (int, binding) {
	v := cookieValue(r, s.name())
	if v == "" {
		return -1, binding{}
	}
	b, ok := s.open(v)
	if !ok || !now.Before(b.until) {
		return -1, binding{}
	}
	for i := range routes {
		if routes[i].Target.ID == b.target {
			return i, b
		}
	}
	return -1, binding{}
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
	s      *sticky
	b      binding // the binding to send (lb_cookie), or the target (app_cookie)
	now    time.Time
	resend bool // lb_cookie: always; app_cookie: when the target set its cookie
	done   bool
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
	b := w.b
	if w.s.cfg.Type == StickinessAppCookie {
		if !setsCookie(h, w.s.cfg.CookieName) {
			return // only a new application cookie makes a new binding
		}
		b.until = w.now.Add(w.s.cfg.Duration)
	}
	v := w.s.seal(b)
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
