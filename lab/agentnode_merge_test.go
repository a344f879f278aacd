package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agents' nodes' access logs join the run's in time order, the cap's
// note line last, whatever order the files came in.
func TestMergeAccessLogsOrdersByTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	local := "http 2026-12-06T10:00:02.000000Z lab 127.0.0.1:1 169.254.1.10:80 a\n" +
		"http 2026-12-06T10:00:05.000000Z lab 127.0.0.1:1 169.254.1.10:80 b\n"
	if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	nodeA := "http 2026-12-06T10:00:01.000000Z lab 127.0.0.1:2 169.254.2.10:80 c\n" +
		"# access log capped at 64 MiB\n" +
		"http 2026-12-06T10:00:04.000000Z lab 127.0.0.1:2 169.254.2.10:80 d" // its last line without a newline
	nodeB := "http 2026-12-06T10:00:03.000000Z lab 127.0.0.1:3 169.254.1.10:80 e\n"
	if err := mergeAccessLogs(path, [][]byte{[]byte(nodeA), []byte(nodeB)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		got = append(got, l[strings.LastIndex(l, " ")+1:])
	}
	if want := "c a e d b MiB"; strings.Join(got, " ") != want {
		t.Fatalf("merged order %v, want %s (the note last)\n%s", got, want, b)
	}
	if _, err := os.Stat(path + ".merge"); !os.IsNotExist(err) {
		t.Errorf("the merge left its temporary file: %v", err)
	}
}
