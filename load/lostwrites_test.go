package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/todo"
)

// Two instances that each keep their own database (a data directory each)
// acknowledge every create, and hand out the same ids. Read back through
// one of them, about half the writes are gone: the check by id and title
// counts them, where a check by id alone found every id and 0 lost.
func TestSeparateDatabasesLoseWrites(t *testing.T) {
	var nodes []string
	var stores []*todo.Store
	for _, id := range []string{"i-0a", "i-0b"} {
		store, err := todo.OpenStore(context.Background(), t.TempDir()) // a database of its own
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: id}))
		t.Cleanup(func() { srv.Close(); store.Close() })
		nodes, stores = append(nodes, srv.URL), append(stores, store)
	}
	res, err := Run(context.Background(), Config{
		Targets: nodes, Mix: Mix{Create: 1}, Seed: 7,
		Phases: []Phase{{Name: "writes", Duration: time.Second, From: 100, To: 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) < 50 || res.Unreadable != 0 || res.OK2xx != res.Requests {
		t.Fatalf("%d creates acknowledged of %d requests (%d 2xx), %d unreadable; want at least 50, all 2xx, 0 unreadable",
			len(res.Created), res.Requests, res.OK2xx, res.Unreadable)
	}
	ids := map[int64]int{}
	for _, w := range res.Created {
		ids[w.ID]++
	}
	reused := 0
	for _, n := range ids {
		if n > 1 {
			reused++
		}
	}
	if reused == 0 {
		t.Fatalf("no id was handed out twice among %d creates; the two databases should each count from 1", len(res.Created))
	}

	// Read back through the first instance, as a load balancer would send
	// the listing to one of them: what the second kept is lost.
	kept, err := stores[0].List(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	lost, err := VerifyWrites(context.Background(), nodes[0], res.Created)
	if err != nil {
		t.Fatal(err)
	}
	idOnly := 0 // what a check of ids alone counted
	for _, w := range res.Created {
		if w.ID > int64(len(kept)) {
			idOnly++
		}
	}
	t.Logf("%d acknowledged, %d ids handed out twice, %d kept by the instance read back; lost: %d by id and title, %d by id alone",
		len(res.Created), reused, len(kept), lost, idOnly)
	if want := len(res.Created) - len(kept); lost != want {
		t.Errorf("%d writes lost, want %d (the ones the other instance kept)", lost, want)
	}
	if lost <= idOnly {
		t.Errorf("lost %d by id and title, %d by id alone; the titles should show more", lost, idOnly)
	}
}

// A 201 whose body gives no id and title is counted as unreadable, not
// taken as a write that was kept or lost.
func TestUnreadableAcknowledgements(t *testing.T) {
	var creates atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n := creates.Add(1)
			w.WriteHeader(http.StatusCreated)
			if n%2 == 0 {
				w.Write([]byte(`created`)) // not JSON
			} else {
				w.Write([]byte(`{"id": 5}`)) // no title
			}
			return
		}
		w.Write([]byte(`{"todos":[]}`))
	}))
	t.Cleanup(srv.Close)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, Mix: Mix{Create: 1}, Seed: 7,
		Phases: []Phase{{Name: "writes", Duration: time.Second, From: 20, To: 20}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 0 || res.Unreadable != int(creates.Load()) || res.Unreadable < 10 {
		t.Errorf("created %d, unreadable %d, server saw %d creates; want 0 and all of them", len(res.Created), res.Unreadable, creates.Load())
	}
}

// A service that answers a create 201 with a title other than the one sent
// (another write's, or the previous acknowledgement repeated) has not
// acknowledged this write: the write is counted as misacknowledged, and
// Created holds only acknowledgements of the titles the lab sent, each once.
func TestWrongOrRepeatedAcknowledgements(t *testing.T) {
	var (
		mu       sync.Mutex
		creates  int
		last     string // the previous acknowledgement's body
		received = map[string]bool{}
		good     int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Write([]byte(`{"todos":[]}`))
			return
		}
		if r.Header.Get(sentTitleHeader) != "" {
			t.Errorf("the lab's internal %s header reached the service", sentTitleHeader)
		}
		var in struct{ Title string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("create body: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		creates++
		received[in.Title] = true
		var body string
		switch {
		case creates%3 == 0:
			body = fmt.Sprintf(`{"id":%d,"title":"someone else's"}`, creates) // a wrong title
		case creates%3 == 2 && last != "":
			body = last // the previous acknowledgement again
		default:
			b, _ := json.Marshal(map[string]any{"id": creates, "title": in.Title})
			body, last = string(b), string(b)
			good++
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, Mix: Mix{Create: 1}, Seed: 7,
		Phases: []Phase{{Name: "writes", Duration: time.Second, From: 30, To: 30}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if creates < 15 {
		t.Fatalf("only %d creates", creates)
	}
	if len(res.Created) != good || res.Misacknowledged != creates-good || res.Unreadable != 0 {
		t.Errorf("created %d, misacknowledged %d, unreadable %d of %d creates; want %d, %d, 0",
			len(res.Created), res.Misacknowledged, res.Unreadable, creates, good, creates-good)
	}
	seen := map[Write]bool{}
	for _, w := range res.Created {
		if !received[w.Title] || seen[w] {
			t.Errorf("Created holds %+v: a title never sent, or twice", w)
		}
		seen[w] = true
	}
}

// TestUsersCreatesAreAcknowledged: with virtual users (the open model's
// cookie jars and the closed model's users) a create answered 201 with the
// title sent is acknowledged, not counted as misacknowledged: the users'
// transport keeps the title's number riding to the result.
func TestUsersCreatesAreAcknowledged(t *testing.T) {
	store, err := todo.OpenStore(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: "i-0a"}))
	t.Cleanup(func() { srv.Close(); store.Close() })
	for _, c := range []struct {
		name  string
		users int
		phase Phase
	}{
		{"open model with users", 5, Phase{Name: "w", Duration: time.Second, From: 50, To: 50}},
		{"closed model", 0, Phase{Name: "w", Duration: time.Second, From: 5, To: 5, Users: true, ThinkTime: 50 * time.Millisecond}},
	} {
		res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, Mix: Mix{Create: 1}, Seed: 7, Users: c.users, Phases: []Phase{c.phase}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Created) < 20 || res.Misacknowledged != 0 || len(res.Created) != res.OK2xx {
			t.Errorf("%s: %d created, %d misacknowledged, %d answered 2xx of %d", c.name, len(res.Created), res.Misacknowledged, res.OK2xx, res.Requests)
		}
	}
}
