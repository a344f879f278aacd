package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/simplydone/lab/todo"
)

func TestVerifyWritesCountsLostTodos(t *testing.T) {
	ctx := context.Background()
	store, err := todo.OpenStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(todo.NewHandler(store, todo.Config{InstanceID: "i-0verify"}))
	t.Cleanup(func() { srv.Close(); store.Close() })

	var writes []Write
	for i := range 450 { // more than two pages of the list
		td, err := store.Create(ctx, "kept "+strconv.Itoa(i), false)
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, Write{ID: td.ID, Title: td.Title})
	}
	for _, w := range writes[:3] {
		if err := store.Delete(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
	}
	writes = append(writes,
		Write{ID: 999999, Title: "never stored"},     // acknowledged, never stored
		Write{ID: writes[10].ID, Title: "another's"}, // its id holds another todo
	)

	lost, err := VerifyWrites(ctx, srv.URL, writes)
	if err != nil || lost != 5 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 5, nil", lost, err)
	}
	if lost, err := VerifyWrites(ctx, srv.URL, nil); lost != 0 || err != nil {
		t.Fatalf("no ids: %d, %v", lost, err)
	}
}

func TestVerifyWritesRetriesServerErrors(t *testing.T) {
	var (
		mu    sync.Mutex
		tries int
	)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tries++
		n := tries
		mu.Unlock()
		if n <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"todos":[{"id":1,"title":"a"},{"id":2,"title":"b"},{"id":3,"title":"c"}]}`))
	}))
	t.Cleanup(flaky.Close)
	lost, err := VerifyWrites(context.Background(), flaky.URL, []Write{{1, "a"}, {2, "b"}, {3, "c"}})
	if err != nil || lost != 0 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 0, nil after retries", lost, err)
	}
}

func TestVerifyWritesReportsUnreachableServer(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more

	lost, err := VerifyWrites(context.Background(), url, []Write{{1, "a"}, {2, "b"}})
	if err == nil || lost != 0 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 0 and an error", lost, err)
	}
	if !strings.Contains(err.Error(), "gave up after") {
		t.Errorf("error %q does not say it retried", err)
	}
}
