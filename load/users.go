package load

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
)

// Virtual users. Without them (Config.Users 0) every request is a new
// visitor with no cookies, as before. With N users each request is sent by
// one of them, drawn from the run's seeded source, and each user keeps its
// own cookie jar: the cookies the load balancer sets (AWSALB, AWSALBAPP)
// and the application's go back with that user's later requests, so sticky
// sessions take effect as they do for browsers. vegeta's workers are not
// users (any worker sends any request), so the jars belong to the users,
// not to workers.
//
// The jars are keyed by one site for the whole run (the load balancer's
// name), so a user's cookies go to whichever node DNS gives it, as a
// browser's go to every address of a name. Secure cookies (AWSALBCORS) are
// not sent over the lab's HTTP listener, as a browser does not send them.

// userHeader carries a request's user from the targeter to the client; the
// client removes it before the request leaves.
const userHeader = "X-Lab-Load-User"

// jarSite is the one site every user's cookies are filed under.
var jarSite = &url.URL{Scheme: "http", Host: "load-balancer.localhost", Path: "/"}

// userJars is the client's transport with virtual users: it sends each
// request with its user's cookies and files the answer's cookies.
type userJars struct {
	next http.RoundTripper
	jars []*cookiejar.Jar
}

func newUserJars(next http.RoundTripper, users int) *userJars {
	u := &userJars{next: next, jars: make([]*cookiejar.Jar, users)}
	for i := range u.jars {
		u.jars[i], _ = cookiejar.New(nil) // no public suffix list: one site; New never fails without options
	}
	return u
}

func (u *userJars) RoundTrip(r *http.Request) (*http.Response, error) {
	id, err := strconv.Atoi(r.Header.Get(userHeader))
	if err != nil || id < 0 || id >= len(u.jars) {
		return u.next.RoundTrip(r)
	}
	out := r.Clone(r.Context())
	delete(out.Header, userHeader)
	jar := u.jars[id]
	for _, c := range jar.Cookies(jarSite) {
		out.AddCookie(c)
	}
	resp, err := u.next.RoundTrip(out)
	if err == nil {
		if cs := resp.Cookies(); len(cs) > 0 {
			jar.SetCookies(jarSite, cs)
		}
	}
	return resp, err
}

// withUser returns h (shared, never written) with the user's header added.
func withUser(h http.Header, user int) http.Header {
	out := make(http.Header, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out[userHeader] = []string{strconv.Itoa(user)}
	return out
}
