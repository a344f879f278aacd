package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Verification limits.
const (
	verifyWorkers  = 16
	verifyAttempts = 4 // tries per id on a transport error or 5xx
	verifyBackoff  = 100 * time.Millisecond
	verifyTimeout  = 10 * time.Second
)

// VerifyWrites reads back every acknowledged todo id through baseURL and
// counts the ones that are gone: any answer other than 200 that is not a
// server error (404 means the write was lost). A transport error or a 5xx
// says nothing about the write, so it is retried a few times and then
// returned as an error instead of being counted. ids are checked 16 at a
// time.
func VerifyWrites(ctx context.Context, baseURL string, ids []int64) (lost int, err error) {
	if err := checkTarget(baseURL); err != nil {
		return 0, err
	}
	base := strings.TrimSuffix(baseURL, "/")
	tr := &http.Transport{MaxIdleConnsPerHost: verifyWorkers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: verifyTimeout}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int64)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(verifyWorkers, len(ids)) {
		wg.Go(func() {
			for id := range jobs {
				ok, err := readBack(ctx, client, base, id)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
					cancel()
				case err == nil && !ok:
					lost++
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, id := range ids {
		select {
		case jobs <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's ctx ended while feeding
	}
	if firstErr != nil {
		return lost, fmt.Errorf("verify writes: %w", firstErr)
	}
	return lost, nil
}

// readBack GETs one todo. It reports whether it is there (200), or an error
// when it could not tell after verifyAttempts tries.
func readBack(ctx context.Context, client *http.Client, base string, id int64) (bool, error) {
	url := base + "/api/todos/" + strconv.FormatInt(id, 10)
	var last error
	for attempt := range verifyAttempts {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * verifyBackoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false, ctx.Err()
			}
		}
		code, err := get(ctx, client, url)
		switch {
		case ctx.Err() != nil:
			return false, ctx.Err()
		case err != nil:
			last = err
		case code >= 500:
			last = fmt.Errorf("GET %s: status %d", url, code)
		default:
			return code == http.StatusOK, nil
		}
	}
	return false, fmt.Errorf("todo %d: gave up after %d tries: %w", id, verifyAttempts, last)
}

func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
