package todo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// eachStore runs test over the embedded SQLite store and over PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, ts *testServer)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newTestServer(t)) })
	t.Run("postgresql", func(t *testing.T) {
		s, err := OpenPostgres(context.Background(), PGConfig{WriterURL: testPostgres(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		test(t, newTestServerCfg(t, s, Config{InstanceID: testInstance, Zone: "lab-1a"}))
	})
}

func TestCRUD(t *testing.T) { eachStore(t, testCRUD) }

func testCRUD(t *testing.T, ts *testServer) {

	created := ts.do("POST", "/api/todos", `{"title":"  buy milk  ","done":false}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", created.status, created.body)
	}
	var td Todo
	created.json(t, &td)
	if td.ID <= 0 || td.Title != "buy milk" || td.Done || td.CreatedAt.IsZero() {
		t.Fatalf("create returned %+v", td)
	}
	if loc := created.header.Get("Location"); loc != fmt.Sprintf("/api/todos/%d", td.ID) {
		t.Errorf("Location = %q", loc)
	}
	path := fmt.Sprintf("/api/todos/%d", td.ID)

	if got := ts.mustTodo(200, "GET", path, ""); got.Title != "buy milk" || got.ID != td.ID {
		t.Errorf("get = %+v", got)
	}
	if got := ts.mustTodo(200, "PATCH", path, `{"title":"buy oat milk"}`); got.Title != "buy oat milk" || got.Done {
		t.Errorf("patch title = %+v", got)
	}
	if got := ts.mustTodo(200, "PATCH", path, `{"done":true}`); got.Title != "buy oat milk" || !got.Done {
		t.Errorf("patch done = %+v", got)
	}
	if got := ts.mustTodo(200, "PUT", path, `{"title":"call mum","done":false}`); got.Title != "call mum" || got.Done {
		t.Errorf("put = %+v", got)
	}
	for range 2 { // marking done is idempotent
		if got := ts.mustTodo(200, "POST", path+"/done", ""); !got.Done || got.Title != "call mum" {
			t.Errorf("done = %+v", got)
		}
	}
	if got := ts.mustTodo(200, "GET", path, ""); !got.Done || !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("after done: %+v", got)
	}

	if r := ts.do("DELETE", path, ""); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: status %d, body %q", r.status, r.body)
	}
	if r := ts.do("GET", path, ""); r.status != http.StatusNotFound {
		t.Errorf("get after delete: status %d", r.status)
	}
	if r := ts.do("DELETE", path, ""); r.status != http.StatusNotFound {
		t.Errorf("second delete: status %d", r.status)
	}

	// Created done, with a non-ASCII title of exactly 500 characters.
	long := strings.Repeat("é", MaxTitleLength)
	if got := ts.mustTodo(201, "POST", "/api/todos", `{"title":"`+long+`","done":true}`); !got.Done || got.Title != long {
		t.Errorf("create done/long: done=%v len=%d", got.Done, len(got.Title))
	}
	// Content-Type parameters are fine.
	if r := ts.doCT("POST", "/api/todos", "application/json; charset=utf-8", `{"title":"x"}`); r.status != 201 {
		t.Errorf("create with charset: status %d, body %s", r.status, r.body)
	}
}

func TestPaging(t *testing.T) { eachStore(t, testPaging) }

func testPaging(t *testing.T, ts *testServer) {
	const n = 23
	want := map[int64]bool{}
	for i := range n {
		td := ts.mustTodo(201, "POST", "/api/todos", fmt.Sprintf(`{"title":"item %d"}`, i))
		want[td.ID] = true
	}

	seen := map[int64]bool{}
	var last int64
	cursor, pages := "", 0
	for {
		q := "/api/todos?limit=5"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := ts.do("GET", q, "")
		if r.status != 200 {
			t.Fatalf("GET %s: status %d, body %s", q, r.status, r.body)
		}
		var page listResponse
		r.json(t, &page)
		pages++
		for _, td := range page.Todos {
			if seen[td.ID] {
				t.Errorf("id %d seen twice", td.ID)
			}
			if td.ID <= last {
				t.Errorf("id %d after %d: not in id order", td.ID, last)
			}
			seen[td.ID], last = true, td.ID
		}
		if page.NextCursor == "" {
			if len(page.Todos) > 5 {
				t.Errorf("last page has %d items", len(page.Todos))
			}
			break
		}
		if len(page.Todos) != 5 {
			t.Errorf("page %d has %d items, want 5", pages, len(page.Todos))
		}
		cursor = page.NextCursor
		if pages > n {
			t.Fatal("paging does not terminate")
		}
	}
	if pages != 5 || len(seen) != n {
		t.Errorf("walked %d pages and %d items, want 5 and %d", pages, len(seen), n)
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("id %d never listed", id)
		}
	}

	// Default limit is 50, and limits above 200 are capped at 200.
	for i := n; i < 250; i++ {
		ts.mustTodo(201, "POST", "/api/todos", fmt.Sprintf(`{"title":"item %d"}`, i))
	}
	for q, wantLen := range map[string]int{"": DefaultLimit, "?limit=1000": MaxLimit} {
		var page listResponse
		ts.do("GET", "/api/todos"+q, "").json(t, &page)
		if len(page.Todos) != wantLen || page.NextCursor == "" {
			t.Errorf("GET /api/todos%s: %d items, cursor %q; want %d and a cursor", q, len(page.Todos), page.NextCursor, wantLen)
		}
	}
}

func TestEmptyList(t *testing.T) { eachStore(t, testEmptyList) }

func testEmptyList(t *testing.T, ts *testServer) {
	r := ts.do("GET", "/api/todos", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"todos":[]}` {
		t.Errorf("empty list: status %d, body %s", r.status, r.body)
	}
}

func TestHealth(t *testing.T) { eachStore(t, testHealth) }

func testHealth(t *testing.T, ts *testServer) {
	r := ts.do("GET", "/health", "")
	var h healthResponse
	r.json(t, &h)
	if r.status != 200 || h != (healthResponse{Status: "ok", Instance: testInstance, Zone: "lab-1a", Version: DefaultVersion}) {
		t.Errorf("health: status %d, %+v", r.status, h)
	}

	ts.store.Close()
	r = ts.do("GET", "/health", "")
	r.json(t, &h)
	if r.status != http.StatusServiceUnavailable || h.Status == "ok" || h.Instance != testInstance {
		t.Errorf("health with closed store: status %d, %+v", r.status, h)
	}
}

func TestIndexPage(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("GET", "/", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.body), "/api/todos") {
		t.Errorf("index: status %d, type %q", r.status, r.header.Get("Content-Type"))
	}
	if strings.Contains(string(r.body), "://") {
		t.Error("index page references an external URL")
	}
}

func TestCPUCost(t *testing.T) {
	const cost = 50 * time.Millisecond
	if n := burnCPU(cost / 5); n == 0 {
		t.Error("burnCPU ran no rounds")
	}
	var burned atomic.Int32
	ts := newTestServerCfg(t, openTestStore(t), Config{
		InstanceID: testInstance,
		CPUCost:    cost,
		beforeAPI:  func(*http.Request) { burned.Add(1) },
	})

	start := time.Now()
	ts.do("GET", "/api/todos", "")
	if d := time.Since(start); d < cost {
		t.Errorf("API request took %v, want at least the CPU cost %v", d, cost)
	}
	ts.do("GET", "/health", "")
	ts.do("GET", "/", "")
	if n := burned.Load(); n != 1 {
		t.Errorf("%d requests paid the CPU cost, want 1 (only the API request)", n)
	}
}
