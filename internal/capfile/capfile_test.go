package capfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Lines pass until the next would pass the cap; then the note, and
// nothing more, however much is written; the file never passes the cap
// and never ends in half a line.
func TestWriterCapsAtALineEnd(t *testing.T) {
	var buf bytes.Buffer
	const limit = 200
	w := New(&buf, 0, limit, "access.log")
	line := []byte(strings.Repeat("x", 19) + "\n") // 20 bytes
	for range 100 {
		if n, err := w.Write(line); n != len(line) || err != nil {
			t.Fatalf("write = %d, %v: a capped writer must not fail its writer", n, err)
		}
	}
	out := buf.String()
	note := Note("access.log", limit)
	if len(out) > limit || !strings.HasSuffix(out, note) {
		t.Fatalf("%d bytes, want at most %d ending in the note:\n%s", len(out), limit, out)
	}
	kept := strings.Count(strings.TrimSuffix(out, note), "\n")
	if want := (limit - len(note)) / 20; kept != want {
		t.Fatalf("%d lines kept, want %d", kept, want)
	}
	capped, dropped := w.Capped()
	if !capped || dropped != int64(100*20-kept*20) {
		t.Fatalf("capped %v, dropped %d", capped, dropped)
	}
	if note != "# lab: access.log reached its cap of 200 B for this run; later lines are dropped, not written\n" {
		t.Fatalf("note %q", note)
	}
}

// A chunk holding many lines (a buffered writer's flush) is cut at its
// last line end that fits.
func TestWriterCutsAChunk(t *testing.T) {
	var buf bytes.Buffer
	note := Note("i-1.log", 1000)
	w := New(&buf, 0, 1000, "i-1.log")
	room := 1000 - len(note)
	chunk := []byte(strings.Repeat("abcdefghi\n", 200)) // 2000 bytes
	w.Write(chunk)
	want := string(chunk[:room/10*10]) + note
	if buf.String() != want {
		t.Fatalf("got %d bytes, want %d", buf.Len(), len(want))
	}
}

// A file opened to append counts what it holds already: an instance
// restarted keeps one cap for the run, not one per life.
func TestOpenCountsWhatTheFileHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i-1.log")
	if err := os.WriteFile(path, []byte(strings.Repeat("y\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	w, f, err := Open(path, 1024)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("z\n", 400)))
	f.Close()
	b, _ := os.ReadFile(path)
	if len(b) > 1024 || !strings.HasSuffix(string(b), Note("i-1.log", 1024)) || !strings.HasPrefix(string(b), strings.Repeat("y\n", 400)) {
		t.Fatalf("%d bytes: %q...", len(b), b[len(b)-120:])
	}
	if capped, _ := w.Capped(); !capped {
		t.Fatal("not capped")
	}
	// opened again (the instance restarted): already at its cap, nothing added
	w, f, err = Open(path, 1024)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("more\n"))
	f.Close()
	if again, _ := os.ReadFile(path); string(again) != string(b) {
		t.Fatalf("reopened at its cap, the file grew from %d to %d bytes", len(b), len(again))
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64 MiB", 512 << 10: "512 KiB", 100: "100 B", 1500: "1500 B"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
