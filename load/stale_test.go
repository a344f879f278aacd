package load

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/simplydone/lab/todo"
)

// A get is judged only when sent after its todo's create was acknowledged;
// it is stale when it answers 404 or another title.
func TestStaleReadsTake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s staleReads
	s.written(Write{ID: 7, Title: "lab load 1-0"}, &vegeta.Result{Timestamp: t0, Latency: time.Second}) // acknowledged at t0+1s
	get := func(sent time.Duration, code uint16, body string) *vegeta.Result {
		return &vegeta.Result{Method: "GET", URL: "http://127.0.1.1:8080/api/todos/7", Code: code, Timestamp: t0.Add(sent), Body: []byte(body)}
	}
	s.take(get(500*time.Millisecond, 404, ``))                                                                                     // sent before the acknowledgement: not judged
	s.take(get(2*time.Second, 200, `{"id":7,"title":"lab load 1-0"}`))                                                             // seen
	s.take(get(3*time.Second, 404, `{"error":"todo 7 not found"}`))                                                                // stale
	s.take(get(4*time.Second, 200, `{"id":7,"title":"someone else"}`))                                                             // another database's todo 7: stale
	s.take(get(5*time.Second, 503, ``))                                                                                            // an error, not a read
	s.take(&vegeta.Result{Method: "GET", URL: "http://127.0.1.1:8080/api/todos/8", Code: 404, Timestamp: t0.Add(5 * time.Second)}) // never acknowledged
	if want := (ReadCheck{Reads: 3, Stale: 2}); s.check != want {
		t.Errorf("check %+v, want %+v", s.check, want)
	}
}

// Reads after writes against real SimplyDone instances: sharing one
// database they always see the write; with a database each (a replica that
// never caught up, in the extreme) gets find nothing or another todo.
func TestStaleReads(t *testing.T) {
	for _, c := range []struct {
		name   string
		shared bool
	}{{"one database", true}, {"a database each", false}} {
		t.Run(c.name, func(t *testing.T) {
			var nodes []string
			var shared *todo.Store
			for _, id := range []string{"i-0a", "i-0b"} {
				store := shared
				if store == nil {
					var err error
					if store, err = todo.OpenStore(context.Background(), t.TempDir()); err != nil {
						t.Fatal(err)
					}
					defer store.Close()
					if c.shared {
						shared = store
					}
				}
				srv := httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: id}))
				defer srv.Close()
				nodes = append(nodes, srv.URL)
			}
			res, err := Run(context.Background(), Config{Targets: nodes, Mix: Mix{Create: 1, Get: 2}, Seed: 9,
				Phases: []Phase{{Name: "p", Duration: 2 * time.Second, From: 100, To: 100}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %+v", c.name, res.Reads)
			if res.Reads.Reads < 50 {
				t.Fatalf("only %d reads after writes checked", res.Reads.Reads)
			}
			if c.shared && res.Reads.Stale != 0 {
				t.Errorf("one database, %d stale reads", res.Reads.Stale)
			}
			if !c.shared && res.Reads.Stale < res.Reads.Reads/4 {
				t.Errorf("a database each, only %d of %d reads stale; want about half", res.Reads.Stale, res.Reads.Reads)
			}
		})
	}
}
