package todo

import (
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Paging and validation limits.
const (
	DefaultLimit   = 50
	MaxLimit       = 200
	MaxTitleLength = 500 // characters (runes), after trimming spaces
	healthTimeout  = time.Second
)

//go:embed index.html
var indexHTML []byte

type handler struct {
	store Repo
	carts Carts
	cfg   Config
	log   *slog.Logger
	slots chan struct{} // MaxInFlight tokens; nil when unbounded
}

// NewHandler returns the SimplyDone HTTP handler: the JSON API under
// /api/todos, GET /health and the HTML page at /. Every response carries
// X-Instance-Id: cfg.InstanceID. Each /api/ request first burns cfg.CPUCost
// of CPU (see the package documentation).
func NewHandler(store Repo, cfg Config) http.Handler {
	h := &handler{store: store, carts: cartsFor(cfg.Cart, store), cfg: cfg, log: cfg.logger()}
	if cfg.MaxInFlight > 0 {
		h.slots = make(chan struct{}, cfg.MaxInFlight)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/todos", h.api(methods{
		http.MethodGet:  h.list,
		http.MethodPost: h.create,
	}))
	mux.Handle("/api/todos/{id}", h.api(methods{
		http.MethodGet:    h.get,
		http.MethodPatch:  h.patch,
		http.MethodPut:    h.put,
		http.MethodDelete: h.delete,
	}))
	mux.Handle("/api/todos/{id}/done", h.api(methods{
		http.MethodPost: h.markDone,
	}))
	mux.Handle("/api/cart", h.api(methods{
		http.MethodGet: h.cart,
	}))
	mux.Handle("/api/cart/items", h.api(methods{
		http.MethodPost: h.addToCart,
	}))
	mux.Handle("/health", methods{http.MethodGet: h.health})
	mux.Handle("/{$}", methods{http.MethodGet: h.index})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.URL.Path)
	})
	version := cfg.version()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance-Id", cfg.InstanceID)
		w.Header().Set(VersionHeader, version)
		mux.ServeHTTP(w, r)
	})
}

// api wraps an API endpoint: wait for a slot, burn the synthetic CPU cost,
// then run the handler.
func (h *handler) api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.slots != nil {
			select {
			case h.slots <- struct{}{}:
				defer func() { <-h.slots }()
			case <-r.Context().Done():
				return // the client gave up while waiting
			}
		}
		if h.cfg.beforeAPI != nil {
			h.cfg.beforeAPI(r)
		}
		burnCPU(h.cfg.CPUCost)
		w.Header().Set("Cache-Control", "no-store")
		if h.cfg.Broken == BrokenList && r.Method == http.MethodGet && r.URL.Path == "/api/todos" {
			writeError(w, http.StatusInternalServerError, "this build is deliberately broken: the list fails (SIMPLYDONE_BROKEN=list)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type listResponse struct {
	Todos      []Todo `json:"todos"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", MaxLimit))
			return
		}
		limit = min(n, MaxLimit)
	}
	var after int64
	if s := q.Get("cursor"); s != "" {
		id, err := decodeCursor(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid cursor")
			return
		}
		after = id
	}
	todos, err := h.store.List(r.Context(), after, limit+1)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	resp := listResponse{Todos: todos}
	if len(todos) > limit {
		resp.Todos = todos[:limit]
		resp.NextCursor = encodeCursor(todos[limit-1].ID)
	}
	writeJSON(w, http.StatusOK, resp)
}

// The cursor is opaque to clients: the last id of the page, base64url-encoded.
func encodeCursor(lastID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(lastID, 10)))
}

func decodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, errors.New("bad cursor")
	}
	return id, nil
}

type createRequest struct {
	Title *string `json:"title"`
	Done  bool    `json:"done"`
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decodeBody(w, r, &req); writeHTTPError(w, err) {
		return
	}
	title, err := validTitle(req.Title)
	if writeHTTPError(w, err) {
		return
	}
	t, err := h.store.Create(r.Context(), title, req.Done)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/todos/%d", t.ID))
	writeJSON(w, http.StatusCreated, t)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if writeHTTPError(w, err) {
		return
	}
	t, err := h.store.Get(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

type updateRequest struct {
	Title *string `json:"title"`
	Done  *bool   `json:"done"`
}

// patch updates the fields present in the body.
func (h *handler) patch(w http.ResponseWriter, r *http.Request) {
	h.update(w, r, false)
}

// put replaces the todo: both title and done are required.
func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	h.update(w, r, true)
}

func (h *handler) update(w http.ResponseWriter, r *http.Request, replace bool) {
	id, err := pathID(r)
	if writeHTTPError(w, err) {
		return
	}
	var req updateRequest
	if err := decodeBody(w, r, &req); writeHTTPError(w, err) {
		return
	}
	var title *string
	switch {
	case replace && req.Done == nil:
		writeError(w, http.StatusBadRequest, `"done" is required`)
		return
	case replace || req.Title != nil:
		t, err := validTitle(req.Title)
		if writeHTTPError(w, err) {
			return
		}
		title = &t
	case req.Done == nil:
		writeError(w, http.StatusBadRequest, `nothing to update: give "title" and/or "done"`)
		return
	}
	t, err := h.store.Update(r.Context(), id, title, req.Done)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (h *handler) markDone(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if writeHTTPError(w, err) {
		return
	}
	done := true
	t, err := h.store.Update(r.Context(), id, nil, &done)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if writeHTTPError(w, err) {
		return
	}
	if err := h.store.Delete(r.Context(), id); err != nil {
		h.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type healthResponse struct {
	Status   string `json:"status"`
	Instance string `json:"instance"`
	Zone     string `json:"zone"`
	Version  string `json:"version"`
	Error    string `json:"error,omitempty"`
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	resp := healthResponse{Status: "ok", Instance: h.cfg.InstanceID, Zone: h.cfg.Zone, Version: h.cfg.version()}
	w.Header().Set("Cache-Control", "no-store")
	if h.cfg.Broken == BrokenHealth {
		resp.Status, resp.Error = "broken", "this build is deliberately broken: /health fails (SIMPLYDONE_BROKEN=health)"
		writeJSON(w, http.StatusInternalServerError, resp)
		return
	}
	if err := h.store.Ping(ctx); err != nil {
		resp.Status, resp.Error = "unavailable", "store unavailable: "+err.Error()
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(indexHTML)))
	w.Write(indexHTML)
}

// storeError maps a store error to a response; only server faults are 5xx.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("todo %s not found", r.PathValue("id")))
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "database busy, retry")
	case errors.Is(err, ErrUnavailable):
		h.log.Error("database connection error", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "database unavailable, retry")
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request canceled")
	default:
		h.log.Error("store error", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// pathID parses the {id} path segment: a positive decimal integer.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, badRequest("id must be a positive integer, got %q", s)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("id must be a positive integer, got %q", s)
	}
	return id, nil
}

// validTitle trims the title and checks it is 1 to MaxTitleLength characters.
func validTitle(p *string) (string, error) {
	if p == nil {
		return "", badRequest(`"title" is required`)
	}
	t := strings.TrimSpace(*p)
	switch n := utf8.RuneCountInString(t); {
	case n == 0:
		return "", badRequest(`"title" must not be empty`)
	case n > MaxTitleLength:
		return "", badRequest(`"title" must be at most %d characters, got %d`, MaxTitleLength, n)
	}
	return t, nil
}
