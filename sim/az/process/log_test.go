package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/capfile"
)

// An instance's output file stops at its cap with the note line, the
// instance goes on serving, and a restart of the same instance does not
// get a fresh allowance: the cap is per run.
func TestInstanceLogIsCapped(t *testing.T) {
	const limit = 4096
	logDir := t.TempDir()
	r, err := New(Options{RunID: fmt.Sprintf("test-%d-cap", os.Getpid()), StateDir: t.TempDir(), LogDir: logDir, LogLimit: limit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	s := spec(t, "127.0.1.19", nil)
	// 2,000 lines of 17 bytes before the workload starts: 34 kB against a 4 kB cap
	s.Command = []string{"/bin/sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo 0123456789abcdef; i=$((i+1)); done; exec "$0"`, reachableSpin(t)}
	launch(t, r, s)
	path := filepath.Join(logDir, string(s.ID)+".log")
	note := []byte(capfile.Note(string(s.ID)+".log", limit))
	eventually(t, 10*time.Second, "the log ends in the cap's note", func() bool {
		b, _ := os.ReadFile(path)
		return bytes.HasSuffix(b, note)
	})
	waitServing(t, s)
	b, _ := os.ReadFile(path)
	if len(b) > limit || bytes.Count(b, []byte("0123456789abcdef\n")) != (limit-len(note))/17 {
		t.Fatalf("%d bytes, %d lines kept", len(b), bytes.Count(b, []byte("\n")))
	}
	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	waitServing(t, s)
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatalf("after a restart the log holds %d bytes (was %d at its cap of %d)", len(after), len(b), limit)
	}
}

// reachableSpin is a copy of spinBin that nobody (as whom instances run
// when the tests run as root) can exec by its path, as a shell does: spinBin's
// own directory is 0700.
func reachableSpin(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "lab-spin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(spinBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "spin")
	if err := errors.Join(os.WriteFile(bin, b, 0o755), os.Chmod(dir, 0o755)); err != nil {
		t.Fatal(err)
	}
	return bin
}
