package todo

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"
)

// The cart is SimplyDone's per-user session state: what a shopper put in
// it during a sale. A user is known by the SessionCookie the instance sets
// on its first answer. Where the cart lives is the lesson: CartMemory keeps
// it in the instance's memory, as a naive application does, so a user whose
// next request lands on another instance (no stickiness, or its instance
// died or scaled in) finds it empty; CartDatabase keeps it in the shared
// database, so every instance sees it.
const (
	SessionCookie = "simplydone_session"
	CartMemory    = "memory"
	CartDatabase  = "database"
	MaxCartItems  = 50  // a cart keeps its newest items
	MaxItemLength = 200 // characters, after trimming spaces
	// maxMemorySessions bounds the memory cart: past it, the least
	// recently used session's cart is forgotten.
	maxMemorySessions = 100_000
)

// CheckCart says whether kind is a cart store SimplyDone has.
func CheckCart(kind string) error {
	switch kind {
	case "", CartMemory, CartDatabase:
		return nil
	}
	return fmt.Errorf("%q is not a cart store; use %q (in the instance's memory) or %q (in the shared database)", kind, CartMemory, CartDatabase)
}

// Carts keeps each session's cart.
type Carts interface {
	// Cart returns the session's items, oldest first (none for a session
	// it does not know).
	Cart(ctx context.Context, session string) ([]string, error)
	// AddToCart adds an item and returns the cart as it now is.
	AddToCart(ctx context.Context, session, item string) ([]string, error)
}

// memCarts is the cart in the instance's memory.
type memCarts struct {
	mu    sync.Mutex
	carts map[string]*list.Element // of *memCart, most recently used at the front
	lru   *list.List
}

type memCart struct {
	session string
	items   []string
}

func newMemCarts() *memCarts {
	return &memCarts{carts: map[string]*list.Element{}, lru: list.New()}
}

func (m *memCarts) Cart(_ context.Context, session string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.carts[session]
	if !ok {
		return []string{}, nil
	}
	m.lru.MoveToFront(e)
	return append([]string{}, e.Value.(*memCart).items...), nil
}

func (m *memCarts) AddToCart(_ context.Context, session, item string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.carts[session]
	if !ok {
		e = m.lru.PushFront(&memCart{session: session})
		m.carts[session] = e
		if m.lru.Len() > maxMemorySessions {
			old := m.lru.Remove(m.lru.Back()).(*memCart)
			delete(m.carts, old.session)
		}
	}
	m.lru.MoveToFront(e)
	c := e.Value.(*memCart)
	c.items = append(c.items, item)
	if len(c.items) > MaxCartItems {
		c.items = append([]string{}, c.items[len(c.items)-MaxCartItems:]...)
	}
	return append([]string{}, c.items...), nil
}

// cartsFor is the cart store cfg asks for: the instance's memory unless
// it asks for the database the todos are in (Run has checked the kind).
func cartsFor(kind string, store Repo) Carts {
	if c, ok := store.(Carts); ok && kind == CartDatabase {
		return c
	}
	return newMemCarts()
}

type cartResponse struct {
	Items []string `json:"items"`
}

type addItemRequest struct {
	Item *string `json:"item"`
}

// session returns the request's session id, setting a new one in a cookie
// when it has none (or one that is not the instance's shape).
func session(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(SessionCookie); err == nil && validSession(c.Value) {
		return c.Value, nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return id, nil
}

func validSession(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func (h *handler) cart(w http.ResponseWriter, r *http.Request) {
	s, err := session(w, r)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	items, err := h.carts.Cart(r.Context(), s)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cartResponse{Items: items})
}

func (h *handler) addToCart(w http.ResponseWriter, r *http.Request) {
	var req addItemRequest
	if err := decodeBody(w, r, &req); writeHTTPError(w, err) {
		return
	}
	if req.Item == nil {
		writeError(w, http.StatusBadRequest, `"item" is required`)
		return
	}
	item := strings.TrimSpace(*req.Item)
	if n := utf8.RuneCountInString(item); n == 0 || n > MaxItemLength {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"item" must be 1 to %d characters, got %d`, MaxItemLength, n))
		return
	}
	s, err := session(w, r)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	items, err := h.carts.AddToCart(r.Context(), s, item)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, cartResponse{Items: items})
}
