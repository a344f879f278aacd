package chaos

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A journal created in a new run directory syncs that directory and its
// parent (the names just made), with no error; reopening an existing
// journal syncs nothing. The real sync runs (the recorder calls it).
func TestNewJournalSyncsItsDirectory(t *testing.T) {
	var synced []string
	syncDir = func(dir string) error {
		synced = append(synced, dir)
		return syncDirFile(dir)
	}
	t.Cleanup(func() { syncDir = syncDirFile })

	runs := t.TempDir()
	dir := filepath.Join(runs, "run-new")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "chaos.jsonl")
	j, err := OpenFileJournal(path)
	if err != nil {
		t.Fatalf("a journal in a new directory: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{dir, runs}) {
		t.Errorf("synced %q, want the journal's directory and its parent %q", synced, []string{dir, runs})
	}

	synced = nil
	j, err = OpenFileJournal(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	j.Close()
	if len(synced) != 0 {
		t.Errorf("reopening an existing journal synced %q; want nothing", synced)
	}
}

// A directory sync that fails fails the open: a journal whose name may not
// survive a crash is not used.
func TestNewJournalFailsWhenItsDirectoryCannotBeSynced(t *testing.T) {
	syncDir = func(string) error { return errors.New("sync: input/output error") }
	t.Cleanup(func() { syncDir = syncDirFile })
	if j, err := OpenFileJournal(filepath.Join(t.TempDir(), "chaos.jsonl")); err == nil {
		j.Close()
		t.Fatal("the open succeeded though the directory could not be synced")
	}
}
