package load

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Stale reads: a get of a todo sent after its create was acknowledged must
// find it, with the title the lab sent. One that answers 404, or another
// title, did not see an acknowledged write: a read served by a replica that
// had not replayed it yet (a reader endpoint), or by a database that never
// had it. Gets sent before the create's acknowledgement came are not
// judged (the targeter hands out an id only once it is acknowledged, but
// answers arrive out of order).

// acked is an acknowledged create: its title and when the answer came.
type acked struct {
	title string
	at    time.Time
}

// ReadCheck is what the run saw of reads after writes.
type ReadCheck struct {
	// Reads counts gets of acknowledged todos sent after the
	// acknowledgement that were answered 200 or 404; Stale those that did
	// not show the todo the lab had written.
	Reads, Stale int
}

// staleReads tracks acknowledged creates and judges gets (on the goroutine
// that reads results).
type staleReads struct {
	acked map[int64]acked
	check ReadCheck
}

// written remembers an acknowledged create.
func (s *staleReads) written(w Write, r *vegeta.Result) {
	if s.acked == nil {
		s.acked = map[int64]acked{}
	}
	s.acked[w.ID] = acked{title: w.Title, at: r.Timestamp.Add(r.Latency)}
}

// take judges a get of a todo.
func (s *staleReads) take(r *vegeta.Result) {
	if r.Method != http.MethodGet || (r.Code != http.StatusOK && r.Code != http.StatusNotFound) {
		return
	}
	i := strings.LastIndex(r.URL, todoPath)
	if i < 0 {
		return
	}
	id, err := strconv.ParseInt(r.URL[i+len(todoPath):], 10, 64)
	if err != nil {
		return
	}
	a, ok := s.acked[id]
	if !ok || !a.at.Before(r.Timestamp) {
		return
	}
	s.check.Reads++
	var body struct {
		Title string `json:"title"`
	}
	if r.Code == http.StatusOK && json.Unmarshal(r.Body, &body) == nil && body.Title == a.title {
		return
	}
	s.check.Stale++
}

// todoPath starts a todo's own path; the id follows.
const todoPath = "/api/todos/"
