package todo

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInput sends every kind of client mistake and expects a 4xx with a
// JSON {"error": ...} body, never a 5xx.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	existing := ts.mustTodo(201, "POST", "/api/todos", `{"title":"exists"}`)
	item := fmt.Sprintf("/api/todos/%d", existing.ID)
	const json = "application/json"

	cases := []struct {
		name         string
		method, path string
		contentType  string
		body         string
		status       int
		allow        string // expected Allow header for 405s
		errContains  string
	}{
		// Listing.
		{"limit not a number", "GET", "/api/todos?limit=abc", "", "", 400, "", "limit"},
		{"limit zero", "GET", "/api/todos?limit=0", "", "", 400, "", "limit"},
		{"limit negative", "GET", "/api/todos?limit=-3", "", "", 400, "", "limit"},
		{"cursor not base64", "GET", "/api/todos?cursor=!!!", "", "", 400, "", "cursor"},
		{"cursor not an id", "GET", "/api/todos?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("abc")), "", "", 400, "", "cursor"},

		// Bodies.
		{"malformed JSON", "POST", "/api/todos", json, `{"title":`, 400, "", "malformed"},
		{"trailing comma", "POST", "/api/todos", json, `{"title":"x",}`, 400, "", "malformed"},
		{"unknown field", "POST", "/api/todos", json, `{"title":"x","priority":1}`, 400, "", "priority"},
		{"title wrong type", "POST", "/api/todos", json, `{"title":5}`, 400, "", "title"},
		{"done wrong type", "POST", "/api/todos", json, `{"title":"x","done":"yes"}`, 400, "", "done"},
		{"array body", "POST", "/api/todos", json, `[{"title":"x"}]`, 400, "", "object"},
		{"empty body", "POST", "/api/todos", json, ``, 400, "", "empty"},
		{"two objects", "POST", "/api/todos", json, `{"title":"x"}{"title":"y"}`, 400, "", "single"},
		{"trailing garbage", "POST", "/api/todos", json, `{"title":"x"} nope`, 400, "", "malformed"},
		{"missing title", "POST", "/api/todos", json, `{"done":true}`, 400, "", "required"},
		{"null title", "POST", "/api/todos", json, `{"title":null}`, 400, "", "required"},
		{"empty title", "POST", "/api/todos", json, `{"title":""}`, 400, "", "empty"},
		{"blank title", "POST", "/api/todos", json, `{"title":"   "}`, 400, "", "empty"},
		{"title too long", "POST", "/api/todos", json, `{"title":"` + strings.Repeat("x", MaxTitleLength+1) + `"}`, 400, "", "500"},
		{"oversized body", "POST", "/api/todos", json, `{"title":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, "", "larger"},
		{"oversized patch", "PATCH", item, json, `{"title":"` + strings.Repeat("x", 2*MaxBodyBytes) + `"}`, 413, "", "larger"},
		{"patch nothing", "PATCH", item, json, `{}`, 400, "", "nothing"},
		{"patch unknown field", "PATCH", item, json, `{"id":7}`, 400, "", "id"},
		{"patch empty title", "PATCH", item, json, `{"title":""}`, 400, "", "empty"},
		{"put without done", "PUT", item, json, `{"title":"x"}`, 400, "", "done"},
		{"put without title", "PUT", item, json, `{"done":true}`, 400, "", "title"},

		// Content types.
		{"no content type", "POST", "/api/todos", "", `{"title":"x"}`, 415, "", "Content-Type"},
		{"text/plain", "POST", "/api/todos", "text/plain", `{"title":"x"}`, 415, "", "Content-Type"},
		{"form", "POST", "/api/todos", "application/x-www-form-urlencoded", `title=x`, 415, "", "Content-Type"},
		{"unparsable content type", "POST", "/api/todos", ";;;", `{"title":"x"}`, 415, "", "Content-Type"},
		{"patch no content type", "PATCH", item, "", `{"done":true}`, 415, "", "Content-Type"},
		{"put text/plain", "PUT", item, "text/plain", `{"title":"x","done":true}`, 415, "", "Content-Type"},

		// Ids.
		{"id not numeric", "GET", "/api/todos/abc", "", "", 400, "", "id"},
		{"id negative", "GET", "/api/todos/-1", "", "", 400, "", "id"},
		{"id signed", "GET", "/api/todos/+1", "", "", 400, "", "id"},
		{"id fractional", "GET", "/api/todos/1.5", "", "", 400, "", "id"},
		{"id overflows", "GET", "/api/todos/99999999999999999999", "", "", 400, "", "id"},
		{"patch id not numeric", "PATCH", "/api/todos/abc", json, `{"done":true}`, 400, "", "id"},
		{"delete id not numeric", "DELETE", "/api/todos/x1", "", "", 400, "", "id"},
		{"done id not numeric", "POST", "/api/todos/abc/done", "", "", 400, "", "id"},
		{"get unknown id", "GET", "/api/todos/999999", "", "", 404, "", "not found"},
		{"get id zero", "GET", "/api/todos/0", "", "", 404, "", "not found"},
		{"patch unknown id", "PATCH", "/api/todos/999999", json, `{"done":true}`, 404, "", "not found"},
		{"put unknown id", "PUT", "/api/todos/999999", json, `{"title":"x","done":false}`, 404, "", "not found"},
		{"delete unknown id", "DELETE", "/api/todos/999999", "", "", 404, "", "not found"},
		{"done unknown id", "POST", "/api/todos/999999/done", "", "", 404, "", "not found"},

		// Methods and routes.
		{"delete collection", "DELETE", "/api/todos", "", "", 405, "GET, HEAD, POST", "DELETE"},
		{"put collection", "PUT", "/api/todos", json, `{}`, 405, "GET, HEAD, POST", "PUT"},
		{"post item", "POST", item, json, `{"title":"x"}`, 405, "DELETE, GET, HEAD, PATCH, PUT", "POST"},
		{"get done", "GET", item + "/done", "", "", 405, "POST", "GET"},
		{"post health", "POST", "/health", "", "", 405, "GET, HEAD", "POST"},
		{"delete index", "DELETE", "/", "", "", 405, "GET, HEAD", "DELETE"},
		{"options item", "OPTIONS", item, "", "", 405, "DELETE, GET, HEAD, PATCH, PUT", "OPTIONS"},
		{"unknown route", "GET", "/api/nope", "", "", 404, "", "route"},
		{"unknown sub-route", "POST", item + "/undone", "", "", 404, "", "route"},
		{"collection trailing slash", "GET", "/api/todos/", "", "", 404, "", "route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts.t = t
			r := ts.doCT(c.method, c.path, c.contentType, c.body)
			if r.status != c.status {
				t.Errorf("status %d, want %d; body %s", r.status, c.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var e errorBody
			r.json(t, &e)
			if e.Error == "" || !strings.Contains(e.Error, c.errContains) {
				t.Errorf("error %q, want it to mention %q", e.Error, c.errContains)
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
		})
	}

	// None of the mistakes changed the stored item.
	ts.t = t
	if got := ts.mustTodo(200, "GET", item, ""); got.Title != "exists" || got.Done {
		t.Errorf("item changed by bad requests: %+v", got)
	}
	var page listResponse
	ts.do("GET", "/api/todos", "").json(t, &page)
	if len(page.Todos) != 1 {
		t.Errorf("bad requests created items: %d listed", len(page.Todos))
	}
}

// TestHead checks HEAD is answered like GET, without a body.
func TestHead(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/health", "/api/todos", "/"} {
		if r := ts.do(http.MethodHead, path, ""); r.status != 200 || len(r.body) != 0 {
			t.Errorf("HEAD %s: status %d, %d body bytes", path, r.status, len(r.body))
		}
	}
}
