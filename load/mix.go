package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Mix weighs the SimplyDone requests the load generator sends: the four
// todo requests, and the cart's two (session state: read the user's cart,
// add an item to it), which need virtual users. The zero Mix means
// DefaultMix.
type Mix struct {
	List, Create, Get, Done int
	Cart, AddToCart         int
}

// DefaultMix is 50% list, 20% create, 20% get, 10% mark done.
var DefaultMix = Mix{List: 50, Create: 20, Get: 20, Done: 10}

// listLimit keeps list responses small (a few KiB at most).
const listLimit = 10

// kind is one request type of the mix.
type kind int

const (
	kindList kind = iota
	kindCreate
	kindGet
	kindDone
	kindCart
	kindAddToCart
)

func (k kind) String() string {
	return [...]string{"list", "create", "get", "done", "cart", "add_to_cart"}[k]
}

func (m Mix) orDefault() Mix {
	if m == (Mix{}) {
		return DefaultMix
	}
	return m
}

func (m Mix) total() int { return m.List + m.Create + m.Get + m.Done + m.Cart + m.AddToCart }

func (m Mix) validate() error {
	if m.List < 0 || m.Create < 0 || m.Get < 0 || m.Done < 0 || m.Cart < 0 || m.AddToCart < 0 {
		return fmt.Errorf("mix weights must not be negative, got list %d, create %d, get %d, done %d, cart %d, add_to_cart %d",
			m.List, m.Create, m.Get, m.Done, m.Cart, m.AddToCart)
	}
	if m.total() == 0 {
		return errors.New("mix weights must not all be zero")
	}
	return nil
}

// pick maps u, uniform in [0, total), to a kind by the cumulative weights.
func (m Mix) pick(u int) kind {
	switch {
	case u < m.List:
		return kindList
	case u < m.List+m.Create:
		return kindCreate
	case u < m.List+m.Create+m.Get:
		return kindGet
	case u < m.List+m.Create+m.Get+m.Done:
		return kindDone
	case u < m.List+m.Create+m.Get+m.Done+m.Cart:
		return kindCart
	default:
		return kindAddToCart
	}
}

// jsonHeader holds the Content-Type every create target shares; vegeta
// copies headers into each request and never writes to them.
var jsonHeader = http.Header{"Content-Type": []string{"application/json"}}

// Targeter builds SimplyDone requests for vegeta. For each request it picks,
// from one seeded source, a base URL (the load balancer node, as a DNS
// client picks one address per lookup) and a request kind by the Mix. Get
// and done use ids of todos whose creation was acknowledged (see AddID);
// until there are any, they become lists. It is safe for concurrent use.
type Targeter struct {
	bases  []string
	mix    Mix
	prefix string // `{"title":"` and the JSON-escaped title prefix
	titled string // the title prefix itself

	users int // virtual users (users.go); 0: none

	mu     sync.Mutex
	rng    *rand.Rand
	ids    []int64
	titles uint64
	items  map[int]uint64 // each user's cart items added so far
}

// NewTargeter returns a Targeter over base URLs such as
// http://127.0.1.1:8080 (no trailing slash). rng is its only source of
// randomness; titlePrefix starts every title.
func NewTargeter(bases []string, mix Mix, rng *rand.Rand, titlePrefix string) (*Targeter, error) {
	if len(bases) == 0 {
		return nil, errors.New("no target base URLs")
	}
	mix = mix.orDefault()
	if err := mix.validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("no random source")
	}
	quoted, err := json.Marshal(titlePrefix)
	if err != nil {
		return nil, fmt.Errorf("title prefix: %w", err)
	}
	prefix := `{"title":` + string(quoted[:len(quoted)-1]) // drop the closing quote
	return &Targeter{bases: bases, mix: mix, prefix: prefix, titled: titlePrefix, rng: rng, items: map[int]uint64{}}, nil
}

// title is the title of the create whose number is n.
func (t *Targeter) title(n string) string { return t.titled + n }

// AddID makes an acknowledged todo id available to get and done requests.
func (t *Targeter) AddID(id int64) {
	t.mu.Lock()
	t.ids = append(t.ids, id)
	t.mu.Unlock()
}

// Next fills tgt with the next request, from a user drawn at random when
// the open model has users; it has the signature of a vegeta.Targeter:
// pass vegeta.Targeter(t.Next).
func (t *Targeter) Next(tgt *vegeta.Target) error {
	return t.next(tgt, -1)
}

// NextFor fills tgt with user's next request (the closed model's users).
func (t *Targeter) NextFor(tgt *vegeta.Target, user int) {
	t.next(tgt, user)
}

func (t *Targeter) next(tgt *vegeta.Target, user int) error {
	t.mu.Lock()
	base := t.bases[t.rng.IntN(len(t.bases))]
	k := t.mix.pick(t.rng.IntN(t.mix.total()))
	var id int64
	if k == kindGet || k == kindDone {
		if len(t.ids) == 0 {
			k = kindList
		} else {
			id = t.ids[t.rng.IntN(len(t.ids))]
		}
	}
	title := t.titles
	if k == kindCreate {
		t.titles++
	}
	if user < 0 && t.users > 0 {
		user = t.rng.IntN(t.users)
	}
	var item uint64
	switch {
	case (k == kindCart || k == kindAddToCart) && user < 0:
		k = kindList // a cart needs a user: an anonymous visitor has none
	case k == kindAddToCart:
		t.items[user]++
		item = t.items[user]
	}
	t.mu.Unlock()

	*tgt = vegeta.Target{Method: http.MethodGet}
	switch k {
	case kindList:
		tgt.URL = base + "/api/todos?limit=" + strconv.Itoa(listLimit)
	case kindCreate:
		tgt.Method = http.MethodPost
		tgt.URL = base + createPath
		n := strconv.FormatUint(title, 10)
		tgt.Body = []byte(t.prefix + n + `"}`)
		// The title's number rides to the result in a header the client's
		// transport takes off before sending (see sentTitle): vegeta's
		// results do not carry the request body.
		tgt.Header = http.Header{"Content-Type": jsonHeader["Content-Type"], sentTitleHeader: []string{n}}
	case kindGet:
		tgt.URL = base + todoPath + strconv.FormatInt(id, 10)
	case kindDone:
		tgt.Method = http.MethodPost
		tgt.URL = base + todoPath + strconv.FormatInt(id, 10) + "/done"
	case kindCart:
		tgt.URL = base + cartPath
		tgt.Header = http.Header{sentCartHeader: []string{cartTag(user, 0)}}
	case kindAddToCart:
		tgt.Method = http.MethodPost
		tgt.URL = base + cartItemsPath
		tgt.Body = []byte(`{"item":"` + cartItem(user, item) + `"}`)
		tgt.Header = http.Header{"Content-Type": jsonHeader["Content-Type"], sentCartHeader: []string{cartTag(user, item)}}
	}
	if user >= 0 {
		tgt.Header = withUser(tgt.Header, user)
	}
	return nil
}

// createPath is the collection path a create is POSTed to.
const createPath = "/api/todos"
