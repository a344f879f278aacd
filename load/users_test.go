package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestUsersKeepTheirCookies runs load with 3 virtual users against a
// server that gives each cookie-less visitor a new id cookie: only the
// users' first visits get one, every later request carries one of the
// three ids, and the header naming the user never reaches the server. Two
// nodes: a user's cookie goes to both, as a browser's to every address.
func TestUsersKeepTheirCookies(t *testing.T) {
	var (
		mu      sync.Mutex
		issued  int
		seen    = map[string]int{}
		without int
		leaked  bool
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get(userHeader) != "" {
			leaked = true
		}
		if c, err := r.Cookie("visitor"); err == nil {
			seen[c.Value]++
		} else {
			without++
			issued++
			http.SetCookie(w, &http.Cookie{Name: "visitor", Value: strconv.Itoa(issued), Path: "/"})
		}
		w.Write([]byte("[]"))
	})
	a, b := httptest.NewServer(h), httptest.NewServer(h)
	defer a.Close()
	defer b.Close()
	res, err := Run(context.Background(), Config{
		Targets: []string{a.URL, b.URL},
		Phases:  []Phase{{Name: "steady", Duration: time.Second, From: 100, To: 100}},
		Seed:    3, Users: 3, Mix: Mix{List: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if leaked {
		t.Fatal("the user header reached the server")
	}
	// Concurrent first requests of one user may each get an id before the
	// first answer is filed; after that every request carries a cookie.
	if len(seen) < 3 || len(seen) > issued || without > 3*4 || res.Requests < 90 {
		t.Fatalf("%d requests; %d without a cookie, %d ids issued, ids seen %v", res.Requests, without, issued, seen)
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	if total+without != res.Requests || total < res.Requests-12 {
		t.Fatalf("%d of %d requests carried a visitor cookie", total, res.Requests)
	}
}

func TestNoUsersNoCookies(t *testing.T) {
	var mu sync.Mutex
	with := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if len(r.Cookies()) > 0 {
			with++
		}
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "visitor", Value: "1"})
	}))
	defer srv.Close()
	if _, err := Run(context.Background(), Config{Targets: []string{srv.URL}, Seed: 1, Mix: Mix{List: 1},
		Phases: []Phase{{Name: "steady", Duration: 500 * time.Millisecond, From: 40, To: 40}}}); err != nil {
		t.Fatal(err)
	}
	if with != 0 {
		t.Fatalf("%d requests carried cookies without virtual users", with)
	}
}
