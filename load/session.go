package load

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Session state: the check behind the stateless lesson. A virtual user
// adds items to its SimplyDone cart (POST /api/cart/items, items named
// after the user and a number) and reads it back (GET /api/cart). A read
// sent after an add was acknowledged must show that item (the cart keeps
// its newest todo.MaxCartItems); one that does not has lost the user's
// session state: the request reached an instance that does not hold it (no
// stickiness and the cart in instance memory, or the sticky instance died
// or scaled in). Within one user, an add's item is the newest acknowledged
// before the read when its answer came before the read was sent.

const (
	cartPath      = "/api/cart"
	cartItemsPath = "/api/cart/items"
	// cartKept is how many newest items a cart keeps (todo.MaxCartItems):
	// an older acknowledged item is not expected any more.
	cartKept = 50
)

// sentCartHeader carries a cart request's user and item ("user/item"; item
// 0 for a read) from the targeter to its result; sentTitle moves it off the
// wire.
const sentCartHeader = "X-Lab-Sent-Cart"

func cartTag(user int, item uint64) string {
	return strconv.Itoa(user) + "/" + strconv.FormatUint(item, 10)
}

// cartItem is the name of user's item number n: unique in the run.
func cartItem(user int, n uint64) string {
	return "u" + strconv.Itoa(user) + "-" + strconv.FormatUint(n, 10)
}

// SessionCheck is what the run saw of its users' session state.
type SessionCheck struct {
	// Adds counts acknowledged adds to carts; Reads counts cart reads sent
	// after at least one of their user's adds was acknowledged, so that
	// they had something to find.
	Adds, Reads int
	// Lost counts those reads whose cart did not hold the newest item
	// acknowledged before they were sent; LostUsers how many users that
	// happened to at least once.
	Lost, LostUsers int
}

// sessions tracks each user's acknowledged adds as results come in (on
// the goroutine that reads results).
type sessions struct {
	acked map[int][]ackedItem // per user, in item order, the newest cartKept
	lost  map[int]bool
	check SessionCheck
}

type ackedItem struct {
	n  uint64
	at time.Time // when its acknowledgement came
}

// take looks at one result: an acknowledged add is remembered, a cart read
// is checked against what its user had been acknowledged before it was
// sent. Other results, and failed ones, are not session state.
func (s *sessions) take(r *vegeta.Result) {
	tag := r.Headers.Get(sentCartHeader)
	if tag == "" {
		return
	}
	u, n, ok := parseCartTag(tag)
	if !ok {
		return
	}
	switch {
	case n > 0 && r.Code == http.StatusCreated:
		if s.acked == nil {
			s.acked, s.lost = map[int][]ackedItem{}, map[int]bool{}
		}
		items := append(s.acked[u], ackedItem{n: n, at: r.Timestamp.Add(r.Latency)})
		slices.SortFunc(items, func(a, b ackedItem) int { return int(a.n) - int(b.n) }) // answers can come out of order
		if len(items) > cartKept {
			items = items[len(items)-cartKept:]
		}
		s.acked[u] = items
		s.check.Adds++
	case n == 0 && r.Code == http.StatusOK:
		want, ok := s.expected(u, r.Timestamp)
		if !ok {
			return
		}
		s.check.Reads++
		var body struct {
			Items []string `json:"items"`
		}
		if json.Unmarshal(r.Body, &body) == nil && slices.Contains(body.Items, cartItem(u, want)) {
			return
		}
		s.check.Lost++
		if !s.lost[u] {
			s.lost[u] = true
			s.check.LostUsers++
		}
	}
}

// expected is the newest item of user u acknowledged before sent.
func (s *sessions) expected(u int, sent time.Time) (uint64, bool) {
	items := s.acked[u]
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].at.Before(sent) {
			return items[i].n, true
		}
	}
	return 0, false
}

func parseCartTag(tag string) (user int, item uint64, ok bool) {
	us, ns, found := strings.Cut(tag, "/")
	if !found {
		return 0, 0, false
	}
	u, err1 := strconv.Atoi(us)
	n, err2 := strconv.ParseUint(ns, 10, 64)
	return u, n, err1 == nil && err2 == nil && u >= 0
}
