package todo

import (
	"net/http"
	"testing"
)

// Every response names the release, so a deploy shows from the client side.
func TestVersionInEveryResponse(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", DefaultVersion}, {"v2", "v2"}} {
		ts := newTestServerCfg(t, openTestStore(t), Config{InstanceID: testInstance, Version: tc.set})
		for _, path := range []string{"/health", "/api/todos", "/", "/nope"} {
			if got := ts.do(http.MethodGet, path, "").header.Get(VersionHeader); got != tc.want {
				t.Errorf("version %q: GET %s: %s %q, want %q", tc.set, path, VersionHeader, got, tc.want)
			}
		}
		var h healthResponse
		ts.do(http.MethodGet, "/health", "").json(t, &h)
		if h.Version != tc.want {
			t.Errorf("/health version %q, want %q", h.Version, tc.want)
		}
	}
}

// The broken build fails its health check and nothing else.
func TestBrokenHealthBuild(t *testing.T) {
	ts := newTestServerCfg(t, openTestStore(t), Config{InstanceID: testInstance, Version: "v3", Broken: BrokenHealth})
	r := ts.do(http.MethodGet, "/health", "")
	if r.status != http.StatusInternalServerError {
		t.Fatalf("/health %d, want 500", r.status)
	}
	var h healthResponse
	r.json(t, &h)
	if h.Status != "broken" || h.Version != "v3" {
		t.Fatalf("/health %+v", h)
	}
	if r := ts.do(http.MethodGet, "/api/todos", ""); r.status != http.StatusOK {
		t.Fatalf("the API answered %d; only /health is broken", r.status)
	}
	if CheckBroken("health") != nil || CheckBroken("") != nil || CheckBroken("db") == nil {
		t.Fatal("CheckBroken")
	}
}

// The list-broken build passes its health check and fails the list only.
func TestBrokenListBuild(t *testing.T) {
	ts := newTestServerCfg(t, openTestStore(t), Config{InstanceID: testInstance, Version: "v3", Broken: BrokenList})
	if r := ts.do(http.MethodGet, "/health", ""); r.status != http.StatusOK {
		t.Fatalf("/health %d, want 200", r.status)
	}
	if r := ts.do(http.MethodGet, "/api/todos", ""); r.status != http.StatusInternalServerError {
		t.Fatalf("the list answered %d, want 500", r.status)
	}
	if r := ts.do(http.MethodPost, "/api/todos", `{"title":"x"}`); r.status != http.StatusCreated {
		t.Fatalf("a create answered %d; only the list is broken", r.status)
	}
	if CheckBroken("list") != nil {
		t.Fatal("CheckBroken(list)")
	}
}
