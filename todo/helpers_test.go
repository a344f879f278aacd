package todo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testInstance = "i-0123456789abcdef0"

// openTestStore opens a store in a fresh temp dir and closes it at cleanup.
func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testServer serves NewHandler over a real SQLite store.
type testServer struct {
	t     *testing.T
	srv   *httptest.Server
	store Repo
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	store := openTestStore(t)
	return newTestServerCfg(t, store, Config{InstanceID: testInstance, Zone: "lab-1a"})
}

func newTestServerCfg(t *testing.T, store Repo, cfg Config) *testServer {
	t.Helper()
	srv := httptest.NewServer(NewHandler(store, cfg))
	t.Cleanup(srv.Close)
	return &testServer{t: t, srv: srv, store: store}
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test if it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
}

// do sends a request; a non-empty body is sent as application/json.
func (ts *testServer) do(method, path, body string) response {
	ts.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return ts.doCT(method, path, ct, body)
}

// doCT sends a request with an explicit Content-Type ("" for none).
func (ts *testServer) doCT(method, path, contentType, body string) response {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.srv.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if got := resp.Header.Get("X-Instance-Id"); got != testInstance {
		ts.t.Errorf("%s %s: X-Instance-Id = %q, want %q", method, path, got, testInstance)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// mustTodo expects status want and decodes a Todo.
func (ts *testServer) mustTodo(want int, method, path, body string) Todo {
	ts.t.Helper()
	r := ts.do(method, path, body)
	if r.status != want {
		ts.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	var td Todo
	r.json(ts.t, &td)
	return td
}
