package todo

import (
	"net/http"
	"testing"
	"time"
)

// TestMaxInFlightQueuesAPIButNotHealth: with one slot taken, a second API
// request waits its turn, while /health still answers at once.
func TestMaxInFlightQueuesAPIButNotHealth(t *testing.T) {
	hook, started, release := holdHook()
	ts := newTestServerCfg(t, openTestStore(t), Config{InstanceID: testInstance, MaxInFlight: 1, beforeAPI: hook})
	held := heldGet(ts.srv.URL + "/api/todos?hold=1")
	<-started
	queued := heldGet(ts.srv.URL + "/api/todos")

	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(ts.srv.URL + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health while the only slot is taken: %v %v", resp, err)
	}
	resp.Body.Close()
	select {
	case r := <-queued:
		t.Fatalf("the second API request was served (%v) while the slot was taken", r)
	default:
	}
	close(release)
	for _, ch := range []<-chan *http.Response{held, queued} {
		if r := <-ch; r == nil || r.StatusCode != http.StatusOK {
			t.Fatalf("after release: %v", r)
		}
	}
}
