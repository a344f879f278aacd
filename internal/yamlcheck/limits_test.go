package yamlcheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocumentRefusesAliases(t *testing.T) {
	cases := []struct{ src, want string }{
		{"a: &x 1\nb: *x\n", "f.yaml:2:4: b: the alias *x is not allowed"},
		{"a: &x [1, 2]\nb:\n  - c: [*x]\n", "f.yaml:3:9: b[0].c[0]: the alias *x is not allowed"},
		{"a: &x {k: 1}\nb:\n  <<: *x\n", "f.yaml:3:7: b.<<: the alias *x is not allowed"},
	}
	for _, c := range cases {
		_, err := Document("f.yaml", []byte(c.src), "thing", "a")
		var errs *Errors
		if !errors.As(err, &errs) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Document(%q) = %v, want %q...", c.src, err, c.want)
		}
	}
	if _, err := Document("f.yaml", []byte("a: &x 1\nb: 2\n"), "thing", "a"); err != nil {
		t.Errorf("an anchor without an alias: %v, want no error", err)
	}
}

func TestSizeLimit(t *testing.T) {
	big := []byte("a: \"" + strings.Repeat("x", MaxFileSize) + "\"\n")
	want := "f.yaml: the file is 1048582 bytes; a thing file may be at most 1048576 bytes (1 MiB)"
	if _, err := Document("f.yaml", big, "thing", "a"); err == nil || err.Error() != want {
		t.Errorf("Document(big) = %v, want %q", err, want)
	}

	dir := t.TempDir()
	// A sparse file of 1 GiB: ReadFile must refuse it from its size, not
	// read it (the test would take seconds and a gigabyte if it did).
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want = huge + ": the file is 1073741824 bytes; a stack file may be at most 1048576 bytes (1 MiB)"
	if _, err := ReadFile(huge, "stack"); err == nil || err.Error() != want {
		t.Errorf("ReadFile(huge) = %v, want %q", err, want)
	}
	if _, err := ReadFile(dir, "stack"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(dir) = %v, want not a regular file", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none.yaml"), "stack"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want ErrNotExist", err)
	}
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(ok, "stack"); err != nil || string(data) != "a: 1\n" {
		t.Errorf("ReadFile(ok) = %q, %v", data, err)
	}
}
