package load

import (
	"context"
	"net/http"
	"net/http/httptest"
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

	var ids []int64
	for i := range 450 { // more than two pages of the list
		td, err := store.Create(ctx, "kept "+string(rune('a'+i%26)), false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, td.ID)
	}
	for _, id := range ids[:3] {
		if err := store.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	ids = append(ids, 999999) // acknowledged, never stored

	lost, err := VerifyWrites(ctx, srv.URL, ids)
	if err != nil || lost != 4 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 4, nil", lost, err)
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
		w.Write([]byte(`{"todos":[{"id":1},{"id":2},{"id":3}]}`))
	}))
	t.Cleanup(flaky.Close)
	lost, err := VerifyWrites(context.Background(), flaky.URL, []int64{1, 2, 3})
	if err != nil || lost != 0 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 0, nil after retries", lost, err)
	}
}

func TestVerifyWritesReportsUnreachableServer(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more

	lost, err := VerifyWrites(context.Background(), url, []int64{1, 2})
	if err == nil || lost != 0 {
		t.Fatalf("VerifyWrites = %d lost, %v; want 0 and an error", lost, err)
	}
	if !strings.Contains(err.Error(), "gave up after") {
		t.Errorf("error %q does not say it retried", err)
	}
}
