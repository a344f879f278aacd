package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Verification limits.
const (
	verifyPage     = 200 // todos per list request (SimplyDone's maximum)
	verifyAttempts = 6   // tries per page on a transport error or 5xx
	verifyBackoff  = 250 * time.Millisecond
	verifyTimeout  = 10 * time.Second
)

// VerifyWrites checks that every acknowledged todo is still readable through
// baseURL under its id and with its title, and counts the ones that are not:
// gone, or their id now holds another todo (as when instances each keep a
// database of their own and hand out the same ids). It pages through the
// list one request at a time (a few dozen requests for thousands of todos),
// so that checking does not itself overload the service it checks. A
// transport error or a 5xx says nothing about the writes, so a page is
// retried a few times and then an error is returned instead of a count.
func VerifyWrites(ctx context.Context, baseURL string, writes []Write) (lost int, err error) {
	if err := checkTarget(baseURL, false); err != nil {
		return 0, err
	}
	if len(writes) == 0 {
		return 0, nil
	}
	base := strings.TrimSuffix(baseURL, "/")
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: verifyTimeout}

	stored := make(map[int64]string, len(writes)) // id -> title
	cursor := ""
	for {
		page, err := listPage(ctx, client, base, cursor)
		if err != nil {
			return 0, fmt.Errorf("verify writes: %w", err)
		}
		for _, t := range page.Todos {
			stored[t.ID] = t.Title
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for _, w := range writes {
		if title, ok := stored[w.ID]; !ok || title != w.Title {
			lost++
		}
	}
	return lost, nil
}

type todoPage struct {
	Todos []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	} `json:"todos"`
	NextCursor string `json:"next_cursor"`
}

// listPage GETs one page of the list, retrying server errors and transport
// errors with a growing pause.
func listPage(ctx context.Context, client *http.Client, base, cursor string) (todoPage, error) {
	u := fmt.Sprintf("%s/api/todos?limit=%d", base, verifyPage)
	if cursor != "" {
		u += "&cursor=" + url.QueryEscape(cursor)
	}
	var last error
	for attempt := range verifyAttempts {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * verifyBackoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return todoPage{}, ctx.Err()
			}
		}
		code, body, err := get(ctx, client, u)
		switch {
		case ctx.Err() != nil:
			return todoPage{}, ctx.Err()
		case err != nil:
			last = err
		case code != http.StatusOK:
			last = fmt.Errorf("GET %s: status %d", u, code)
			if code < 500 {
				return todoPage{}, last // a client error will not mend itself
			}
		default:
			var p todoPage
			if err := json.Unmarshal(body, &p); err != nil {
				return todoPage{}, fmt.Errorf("GET %s: %w", u, err)
			}
			return p, nil
		}
	}
	return todoPage{}, fmt.Errorf("gave up after %d tries: %w", verifyAttempts, last)
}

func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
