package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/internal/runns"
)

func newIsolated(t *testing.T, stateDir string) *Runtime {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	r, err := New(Options{RunID: fmt.Sprintf("iso-%d-%d", os.Getpid(), runSeq.Add(1)), StateDir: stateDir, LogDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Grace: 2 * time.Second, Isolate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// getIn is an HTTP GET through the runtime's dialer.
func getIn(r *Runtime, url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: r.Dial, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// An isolated run's instance listens on its zone address inside the run's
// namespace: the runtime's Dial reaches it, the host's network does not,
// and a server on the host at the same address is not taken for it (nor
// called foreign: it is not where the instance's traffic goes). Close
// removes the namespace.
func TestIsolatedInstanceIsReachedOnlyInItsNamespace(t *testing.T) {
	r := newIsolated(t, t.TempDir())
	name, ok := r.Isolated()
	if !ok || name != runns.Name(r.opts.RunID) {
		t.Fatalf("Isolated() = %q, %v", name, ok)
	}
	s := spec(t, "127.0.1.10", nil)
	hostLn, err := net.Listen("tcp", fmt.Sprintf("127.0.1.10:%d", s.Port)) // someone's server on the host, same address
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	launch(t, r, s)
	eventually(t, 10*time.Second, "the instance serving inside the namespace", func() bool {
		_, err := getIn(r, url(s)+"/health")
		return err == nil
	})
	if err := r.OwnsListener(bg, s.ID, hostLn.Addr().(*net.TCPAddr).AddrPort()); err != nil {
		t.Errorf("OwnsListener: %v; want nil (the instance's own listener, in its namespace)", err)
	}
	hostLn.Close()
	if _, err := get(url(s)+"/health", time.Second); err == nil {
		t.Errorf("the instance answered on the host's network")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(runns.Dir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the namespace %s is left after Close: %v", name, err)
	}
}

// A probe run as an isolated instance cannot connect to a listener on the
// host's 127.0.0.1.
func TestIsolatedInstanceCannotReachTheHostsLoopback(t *testing.T) {
	r := newIsolated(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	s := spec(t, "127.0.1.11", nil)
	s.Command = []string{"/bin/bash", "-c", fmt.Sprintf(`if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo reached; else echo refused; fi > "$LAB_DATA_DIR/probe"; exec sleep 60`, port)}
	launch(t, r, s)
	var got []byte
	eventually(t, 10*time.Second, "the probe's answer", func() bool {
		got, _ = os.ReadFile(filepath.Join(s.DataDir, "probe"))
		return len(got) > 0
	})
	if strings.TrimSpace(string(got)) != "refused" {
		t.Errorf("the probe inside the namespace says %q; want refused", got)
	}
	select {
	case <-accepted:
		t.Error("the host's 127.0.0.1 listener accepted a connection from an isolated instance")
	default:
	}
}

// A crashed isolated run's namespace is removed by the next Reap once the
// run is dead by its lock, and not while it holds it.
func TestReapRemovesADeadRunsNamespace(t *testing.T) {
	stateDir := t.TempDir()
	r := newIsolated(t, stateDir)
	name, _ := r.Isolated()
	h, err := runlockHold(stateDir, r.opts.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reap(context.Background(), stateDir, quietLog); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(runns.Dir, name)); err != nil {
		t.Fatalf("a live run's namespace was removed: %v", err)
	}
	h.Release()
	deadLock(t, stateDir, r.opts.RunID) // it crashed: its lock file stays, held by nobody
	if _, err := Reap(context.Background(), stateDir, quietLog); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(runns.Dir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead run's namespace %s is left: %v", name, err)
	}
}

func runlockHold(stateDir, runID string) (interface{ Release() error }, error) {
	return runlock.Hold(stateDir, runlock.Owner{RunID: runID})
}
