package tui

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// TestSocketServesSnapshots runs the live socket for real: a client that
// attaches mid-run gets the backlog with each event's why, then each new
// snapshot, then the last one (Done); the view fed from it shows the run.
func TestSocketServesSnapshots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run-20260101T000000-abcdef")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if fi, err := os.Stat(srv.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("live.sock mode %v, %v; want 0600 (it drives the run)", fi.Mode().Perm(), err)
	}
	s := fixture()
	srv.Publish(s) // before anyone attaches: kept as backlog

	if got, err := NewestLive(filepath.Dir(dir)); err != nil || got != dir {
		t.Fatalf("NewestLive = %q, %v; want %q", got, err, dir)
	}

	got := make(chan Snapshot, 16)
	errc := make(chan error, 1)
	go func() { errc <- Follow(context.Background(), srv.Path(), func(s Snapshot) { got <- s }) }()
	first := recv(t, got)
	if len(first.Events) != len(s.Events) || first.Group.Desired != 4 || first.Zones[2].Instances[1].State != "Pending" {
		t.Fatalf("first snapshot: %d events, desired %d", len(first.Events), first.Group.Desired)
	}
	why := strings.Join(first.Events[3].Why, "\n")
	if !strings.Contains(why, "Rule: OK -> ALARM needs at least 1 of the last 1 datapoints") {
		t.Errorf("the alarm's why did not cross the socket:\n%s", why)
	}

	next := fixture()
	next.Events = []Entry{{Seq: 9, At: 9 * time.Minute, Class: ClassLoad, Text: "Phase after"}}
	next.Phase = "after"
	srv.Publish(next)
	if s := recv(t, got); len(s.Events) != 1 || s.Phase != "after" {
		t.Errorf("second snapshot: %+v", s.Events)
	}
	end := fixture()
	end.Events, end.Done, end.Verdict = nil, true, "PASS"
	srv.Publish(end)
	if s := recv(t, got); !s.Done || s.Verdict != "PASS" {
		t.Errorf("last snapshot: done %v verdict %q", s.Done, s.Verdict)
	}
	if err := <-errc; err != nil {
		t.Errorf("Follow: %v", err)
	}

	// the view, fed what crossed the socket, shows the run and the why
	m := New(Options{Renderer: asciiRenderer(), Watch: true})
	m = step(m, tea160x48(), first)
	m = keys(m, "4", "enter")
	if v := m.View(); !strings.Contains(v, "99.78 at 22/11/26 03:37:00") || !strings.Contains(v, "WATCHING") {
		t.Errorf("watching view:\n%s", v)
	}

	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := os.Stat(srv.Path()); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the server: %v", err)
	}
	if _, err := NewestLive(filepath.Dir(dir)); err == nil {
		t.Errorf("NewestLive found a closed run")
	}
}

// TestSocketClientGone: a client that goes away early gets ErrGone, and a
// client that stops reading is dropped without holding Publish up.
func TestSocketClientGone(t *testing.T) {
	dir := t.TempDir()
	srv, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := net.Dial("unix", srv.Path()) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	errc := make(chan error, 1)
	n := 0
	go func() { errc <- Follow(context.Background(), srv.Path(), func(Snapshot) { n++ }) }()
	s := fixture()
	start := time.Now()
	for range 500 { // ~10 MB: more than a socket buffers
		srv.Publish(s)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Publish held up by a client that does not read: %v", d)
	}
	time.Sleep(200 * time.Millisecond)
	srv.Close()
	if err := <-errc; !errors.Is(err, ErrGone) {
		t.Errorf("Follow after the server closed early: %v, want ErrGone", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a client that does not read held Close up: %v", d)
	}
}

func recv(t *testing.T, c chan Snapshot) Snapshot {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot within 5 s")
	}
	return Snapshot{}
}

func tea160x48() tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: 160, Height: 48} }
