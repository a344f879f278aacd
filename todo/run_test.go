package todo

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests; nothing sleeps for luck.
const waitTimeout = 10 * time.Second

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// holdHook returns a beforeAPI hook that parks requests carrying ?hold=1
// until release is closed, announcing each on started.
func holdHook() (hook func(*http.Request), started chan struct{}, release chan struct{}) {
	started, release = make(chan struct{}, 8), make(chan struct{})
	hook = func(r *http.Request) {
		if r.URL.Query().Get("hold") == "1" {
			started <- struct{}{}
			<-release
		}
	}
	return hook, started, release
}

// startRun runs Run in the background and returns its result channel.
func startRun(ctx context.Context, cfg Config) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	return done
}

// heldGet issues GET url in the background on its own connection.
func heldGet(url string) <-chan *http.Response {
	ch := make(chan *http.Response, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			ch <- nil
			return
		}
		resp.Body.Close()
		ch <- resp
	}()
	return ch
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitRefused dials addr until the connection is refused.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a guess
	}
}

func TestRunGracefulShutdown(t *testing.T) {
	ln := loopbackListener(t)
	addr := ln.Addr().String()
	hook, started, release := holdHook()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, Config{
		Listener: ln, DataDir: t.TempDir(), InstanceID: testInstance, Zone: "lab-1a", beforeAPI: hook,
	})

	// Serving: /health answers (on a keep-alive connection shutdown must close).
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}

	held := heldGet("http://" + addr + "/api/todos?hold=1")
	waitFor(t, started, "the slow request to start")

	cancel()
	waitRefused(t, addr)
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) with a request in flight", err)
	default:
	}

	close(release)
	r := waitFor(t, held, "the in-flight request")
	if r == nil || r.StatusCode != 200 || r.Header.Get("X-Instance-Id") != testInstance {
		t.Fatalf("in-flight request: %+v, want 200 from %s", r, testInstance)
	}
	if err := waitFor(t, done, "Run to return"); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunShutdownTimeout(t *testing.T) {
	ln := loopbackListener(t)
	hook, started, release := holdHook()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, Config{
		Listener: ln, DataDir: t.TempDir(), InstanceID: testInstance,
		ShutdownTimeout: 50 * time.Millisecond, beforeAPI: hook,
	})
	heldGet("http://" + ln.Addr().String() + "/api/todos?hold=1")
	waitFor(t, started, "the slow request to start")
	cancel()
	if err := waitFor(t, done, "Run to return"); err == nil {
		t.Fatal("Run returned nil although a request outlived the shutdown timeout")
	}
}

func TestRunCancelledDuringBoot(t *testing.T) {
	ln := loopbackListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := startRun(ctx, Config{Listener: ln, DataDir: t.TempDir(), BootDelay: time.Hour})
	cancel()
	if err := waitFor(t, done, "Run to return"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	waitRefused(t, ln.Addr().String())
}

func TestRunBadDataDir(t *testing.T) {
	file := t.TempDir() + "/not-a-dir"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: file})
	if err == nil {
		t.Fatal("Run with a file as data dir succeeded")
	}
}
