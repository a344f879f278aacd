package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/simplydone/lab/todo"
)

// A read is judged against the newest item its user had been acknowledged
// before the read was sent: later adds, other users and failed answers do
// not count.
func TestSessionsTake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	add := func(user int, n uint64, sent, latency float64) *vegeta.Result {
		return &vegeta.Result{Code: 201, Timestamp: at(sent), Latency: time.Duration(latency * float64(time.Second)),
			Headers: http.Header{sentCartHeader: []string{cartTag(user, n)}}}
	}
	read := func(user int, sent float64, code uint16, body string) *vegeta.Result {
		return &vegeta.Result{Code: code, Timestamp: at(sent), Body: []byte(body),
			Headers: http.Header{sentCartHeader: []string{cartTag(user, 0)}}}
	}
	var s sessions
	s.take(read(1, 0, 200, `{"items":[]}`))         // nothing acknowledged yet: not judged
	s.take(add(1, 1, 1, 0.1))                       // u1-1 acknowledged at 1.1
	s.take(add(1, 2, 2, 1))                         // u1-2 acknowledged at 3
	s.take(read(1, 2.5, 200, `{"items":["u1-1"]}`)) // sent before u1-2's answer: u1-1 suffices
	s.take(read(1, 4, 200, `{"items":["u1-1","u1-2"]}`))
	s.take(read(1, 5, 200, `{"items":[]}`))            // lost
	s.take(read(1, 6, 200, `{"items":["u1-1"]}`))      // lost again: one user
	s.take(read(2, 6, 200, `{"items":[]}`))            // user 2 added nothing
	s.take(add(2, 1, 6, 0.1))                          // u2-1
	s.take(read(2, 7, 503, `{"error":"unavailable"}`)) // a failed read is an error, not lost state
	s.take(read(2, 8, 200, `{"items":["u1-2"]}`))      // another user's item: lost
	s.take(&vegeta.Result{Code: 200})                  // not a cart request
	want := SessionCheck{Adds: 3, Reads: 5, Lost: 3, LostUsers: 2}
	if s.check != want {
		t.Errorf("check %+v, want %+v", s.check, want)
	}
}

// Users against two real SimplyDone instances with no stickiness (each
// request picks an instance at random): carts in instance memory are lost
// as users move between instances; carts in the shared database are not.
func TestLostSessionState(t *testing.T) {
	for _, c := range []struct {
		cart string
		lost bool
	}{{todo.CartMemory, true}, {todo.CartDatabase, false}} {
		t.Run(c.cart, func(t *testing.T) {
			store, err := todo.OpenStore(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var nodes []string
			for _, id := range []string{"i-0a", "i-0b"} {
				srv := httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: id, Cart: c.cart}))
				defer srv.Close()
				nodes = append(nodes, srv.URL)
			}
			res, err := Run(context.Background(), Config{
				Targets: nodes, Mix: Mix{List: 1, Create: 1, Cart: 2, AddToCart: 2}, Seed: 3,
				Phases: []Phase{{Name: "shoppers", Duration: 2 * time.Second, From: 20, To: 20, Users: true, ThinkTime: 20 * time.Millisecond}},
			})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Sessions
			t.Logf("%s carts: %+v over %d requests", c.cart, s, res.Requests)
			if s.Adds < 50 || s.Reads < 50 || res.OK2xx != res.Requests {
				t.Fatalf("too little was checked: %+v, %d of %d requests 2xx", s, res.OK2xx, res.Requests)
			}
			if len(res.Created) == 0 || res.Misacknowledged != 0 || res.Unreadable != 0 {
				t.Errorf("users' creates: %d acknowledged, %d misacknowledged, %d unreadable; want all acknowledged",
					len(res.Created), res.Misacknowledged, res.Unreadable)
			}
			if c.lost && (s.Lost == 0 || s.LostUsers == 0) {
				t.Errorf("carts in instance memory, users spread over two instances, and no session state was lost: %+v", s)
			}
			if !c.lost && s.Lost != 0 {
				t.Errorf("carts in the shared database, and %d reads lost state: %+v", s.Lost, s)
			}
		})
	}
}

// Cart requests need users phases: an open-model run is refused, with
// users or without (its users' requests overlap).
func TestCartNeedsUsers(t *testing.T) {
	_, err := Run(context.Background(), Config{Targets: []string{"http://127.0.0.1:1"}, Mix: Mix{Cart: 1},
		Phases: []Phase{{Name: "p", Duration: time.Second, From: 1, To: 1}}})
	if err == nil {
		t.Fatal("a cart mix without users was accepted")
	}
	_, err = Run(context.Background(), Config{Targets: []string{"http://127.0.0.1:1"}, Mix: Mix{Cart: 1}, Users: 10,
		Phases: []Phase{{Name: "p", Duration: time.Second, From: 1, To: 1}}})
	if err == nil {
		t.Fatal("a cart mix with open-model users was accepted")
	}
}
