package todo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// shopper is one user with a browser's cookie jar, talking to instances.
type shopper struct {
	t   *testing.T
	jar *cookiejar.Jar
}

func newShopper(t *testing.T) *shopper {
	jar, _ := cookiejar.New(nil)
	return &shopper{t: t, jar: jar}
}

// do sends a request to an instance as this user; every instance is one
// site to the jar, as instances behind one load balancer are.
func (s *shopper) do(srv *httptest.Server, method, path, body string) (int, []string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	site := &url.URL{Scheme: "http", Host: "shop.example", Path: "/"}
	for _, c := range s.jar.Cookies(site) {
		req.AddCookie(c)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	s.jar.SetCookies(site, resp.Cookies())
	var cr cartResponse
	if resp.StatusCode < 300 {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			s.t.Fatal(err)
		}
		response{status: resp.StatusCode, body: b}.json(s.t, &cr)
	}
	return resp.StatusCode, cr.Items
}

// The lesson: a cart in an instance's memory is that instance's; the same
// user on another instance finds it empty. In the database every instance
// sees it.
func TestCartWhereItLives(t *testing.T) {
	for _, c := range []struct {
		cart      string
		onB       []string
		storeKind string
	}{
		{CartMemory, []string{}, "sqlite"},
		{CartDatabase, []string{"socks"}, "sqlite"},
		{CartDatabase, []string{"socks"}, "postgresql"},
	} {
		t.Run(c.cart+"/"+c.storeKind, func(t *testing.T) {
			var store Repo = openTestStore(t)
			if c.storeKind == "postgresql" {
				pg, err := OpenPostgres(context.Background(), PGConfig{WriterURL: testPostgres(t)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pg.Close() })
				store = pg
			}
			a := httptest.NewServer(NewHandler(store, Config{InstanceID: "i-a", Cart: c.cart}))
			b := httptest.NewServer(NewHandler(store, Config{InstanceID: "i-b", Cart: c.cart}))
			defer a.Close()
			defer b.Close()
			u := newShopper(t)
			if st, items := u.do(a, "GET", "/api/cart", ""); st != 200 || len(items) != 0 {
				t.Fatalf("a new user's cart: %d %v", st, items)
			}
			if st, items := u.do(a, "POST", "/api/cart/items", `{"item":" socks "}`); st != 201 || !slices.Equal(items, []string{"socks"}) {
				t.Fatalf("add: %d %v", st, items)
			}
			if _, items := u.do(a, "GET", "/api/cart", ""); !slices.Equal(items, []string{"socks"}) {
				t.Errorf("the same instance: %v", items)
			}
			if _, items := u.do(b, "GET", "/api/cart", ""); !slices.Equal(items, c.onB) {
				t.Errorf("another instance: %v, want %v", items, c.onB)
			}
			other := newShopper(t)
			if _, items := other.do(a, "GET", "/api/cart", ""); len(items) != 0 {
				t.Errorf("another user sees %v", items)
			}
		})
	}
}

// A cart keeps its newest MaxCartItems; an item must be 1 to MaxItemLength
// characters.
func TestCartBounds(t *testing.T) {
	for _, kind := range []string{CartMemory, CartDatabase} {
		t.Run(kind, func(t *testing.T) {
			srv := httptest.NewServer(NewHandler(openTestStore(t), Config{InstanceID: testInstance, Cart: kind}))
			defer srv.Close()
			u := newShopper(t)
			var items []string
			for i := range MaxCartItems + 3 {
				_, items = u.do(srv, "POST", "/api/cart/items", fmt.Sprintf(`{"item":"item %d"}`, i))
			}
			if len(items) != MaxCartItems || items[0] != "item 3" || items[MaxCartItems-1] != fmt.Sprintf("item %d", MaxCartItems+2) {
				t.Errorf("cart after %d adds: %d items, %q..%q", MaxCartItems+3, len(items), items[0], items[len(items)-1])
			}
			for _, body := range []string{`{"item":"   "}`, `{}`, `{"item":"` + strings.Repeat("x", MaxItemLength+1) + `"}`, `{"item":1}`} {
				if st, _ := u.do(srv, "POST", "/api/cart/items", body); st != http.StatusBadRequest {
					t.Errorf("add %s: %d, want 400", body, st)
				}
			}
		})
	}
}

// The memory cart forgets the least recently used session past its bound.
func TestMemCartsForgetsTheOldest(t *testing.T) {
	m := newMemCarts()
	ctx := context.Background()
	m.AddToCart(ctx, "first", "a")
	m.AddToCart(ctx, "second", "b")
	m.Cart(ctx, "first") // used again: now the second is the oldest
	for i := range maxMemorySessions - 1 {
		m.AddToCart(ctx, fmt.Sprint(i), "x")
	}
	if items, _ := m.Cart(ctx, "first"); !slices.Equal(items, []string{"a"}) {
		t.Errorf("first: %v", items)
	}
	if items, _ := m.Cart(ctx, "second"); len(items) != 0 {
		t.Errorf("second outlived the bound: %v", items)
	}
	if m.lru.Len() != maxMemorySessions {
		t.Errorf("%d sessions kept, want %d", m.lru.Len(), maxMemorySessions)
	}
}

func TestCheckCart(t *testing.T) {
	for _, k := range []string{"", CartMemory, CartDatabase} {
		if err := CheckCart(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	if err := CheckCart("redis"); err == nil || !strings.Contains(err.Error(), `"memory"`) {
		t.Errorf("redis: %v", err)
	}
}
