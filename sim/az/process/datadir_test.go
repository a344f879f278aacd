package process

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/simplydone/lab/internal/runlock"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// deadLock leaves runID's lock file in stateDir with nobody holding it: the
// run is dead by its lock.
func deadLock(t *testing.T, stateDir, runID string) {
	t.Helper()
	if err := os.WriteFile(runlock.Path(stateDir, runID), []byte(`{"run_id":"`+runID+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// movedData makes what prepare leaves after moving a run's data directory:
// <tmp>/lab-data-* holding a file, and runDir/data a link to it, recorded.
func movedData(t *testing.T, stateDir, runID string) (link, moved string) {
	t.Helper()
	runDir := t.TempDir()
	moved, err := os.MkdirTemp(t.TempDir(), tempDataPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(moved, "todo.db"), []byte("rows"), 0o600); err != nil {
		t.Fatal(err)
	}
	link = filepath.Join(runDir, "data")
	if err := os.Symlink(moved, link); err != nil {
		t.Fatal(err)
	}
	if err := writeMoved(stateDir, runID, []movedRecord{{Link: link, Moved: moved}}); err != nil {
		t.Fatal(err)
	}
	return link, moved
}

func absent(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	return os.IsNotExist(err)
}

func checkBack(t *testing.T, link, moved string) {
	t.Helper()
	if !absent(t, moved) {
		t.Errorf("%s is still there after the reap", moved)
	}
	fi, err := os.Lstat(link)
	if err != nil || !fi.IsDir() {
		t.Fatalf("the run's data dir is %v, %v after the reap; want the directory back in place", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(link, "todo.db")); err != nil || string(b) != "rows" {
		t.Errorf("the data dir holds %q, %v; want the run's files", b, err)
	}
}

// A crashed run's data directory, moved to <tmp>/lab-data-* for nobody,
// goes back into its run directory when the next reaper finds the run dead
// by its lock; the record and the run's records directory go too.
func TestReapMovesADeadRunsDataBack(t *testing.T) {
	stateDir := t.TempDir()
	const run = "crashed-data"
	link, moved := movedData(t, stateDir, run)
	deadLock(t, stateDir, run)
	if _, err := Reap(context.Background(), stateDir, quietLog); err != nil {
		t.Fatal(err)
	}
	checkBack(t, link, moved)
	if !absent(t, filepath.Join(stateDir, run)) {
		t.Errorf("the run's records directory is left after the reap")
	}
}

// Across filesystems the files are copied back and the moved directory
// removed; a symbolic link inside it is neither followed nor copied.
func TestReapCopiesDataBackAcrossFilesystems(t *testing.T) {
	rename = func(string, string) error { return &os.LinkError{Op: "rename", Err: syscall.EXDEV} }
	t.Cleanup(func() { rename = os.Rename })
	stateDir := t.TempDir()
	const run = "crashed-xdev"
	link, moved := movedData(t, stateDir, run)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(moved, "escape")); err != nil {
		t.Fatal(err)
	}
	deadLock(t, stateDir, run)
	if _, err := Reap(context.Background(), stateDir, quietLog); err != nil {
		t.Fatal(err)
	}
	checkBack(t, link, moved)
	if !absent(t, filepath.Join(link, "escape")) {
		t.Error("a symbolic link in the moved data dir was copied back")
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("a file behind a symbolic link in the data dir was touched: %v", err)
	}
}

// The copy keeps each entry's owner and mode (nobody's data stays
// nobody's, 0700/0600), given only once the tree is in place.
func TestCopyTreeKeepsOwnersAndModes(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("giving files to nobody needs root")
	}
	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "todo.db"), []byte("rows"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, filepath.Join(src, "sub"), filepath.Join(src, "sub", "todo.db")} {
		if err := os.Lchown(p, Nobody, Nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(src, 0o700); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "data")
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]os.FileMode{".": 0o700, "sub": 0o750, "sub/todo.db": 0o640} {
		fi, err := os.Lstat(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != mode || st.Uid != Nobody || st.Gid != Nobody {
			t.Errorf("%s: mode %v uid %d gid %d; want %v, nobody's", rel, fi.Mode().Perm(), st.Uid, st.Gid, mode)
		}
	}
}

// A live run's moved data directory is not touched; nor is a moved path
// that is a symbolic link (not the directory the run made) or a path not
// named lab-data-*.
func TestReapLeavesWhatIsNotADeadRunsDataDir(t *testing.T) {
	stateDir := t.TempDir()
	const live = "live-data"
	link, moved := movedData(t, stateDir, live)
	h, err := runlock.Hold(stateDir, runlock.Owner{RunID: live})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()

	const crashed = "crashed-link"
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(t.TempDir(), tempDataPrefix+"evil")
	if err := os.Symlink(outside, evil); err != nil {
		t.Fatal(err)
	}
	notOurs := t.TempDir() // not named lab-data-*
	if err := writeMoved(stateDir, crashed, []movedRecord{{Moved: evil}, {Moved: notOurs}}); err != nil {
		t.Fatal(err)
	}
	deadLock(t, stateDir, crashed)

	_, err = Reap(context.Background(), stateDir, quietLog)
	if err == nil {
		t.Error("Reap said nothing of a record naming a path not made by a run")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("a live run's data link was touched: %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(moved, "todo.db")); err != nil {
		t.Errorf("a live run's moved data was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("the directory behind a symbolic link was touched: %v", err)
	}
	if absent(t, evil) || absent(t, notOurs) {
		t.Error("a path that is not a run's moved data dir was removed")
	}
}

// The real move, as root: prepare records it before it moves anything, so
// a run that crashes after it (no restore) leaves what the reaper needs.
func TestPrepareRecordsTheMoveForTheReaper(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the data dir is moved only when the lab runs as root")
	}
	stateDir, runDir := t.TempDir(), t.TempDir()
	if err := os.Chmod(runDir, 0o700); err != nil { // nobody may not search it
		t.Fatal(err)
	}
	const run = "crashed-prepare"
	d := dataDirs{stateDir: stateDir, runID: run}
	dir := filepath.Join(runDir, "data")
	moved, err := d.prepare(dir)
	if err != nil {
		t.Fatal(err)
	}
	if moved == dir || filepath.Base(filepath.Dir(moved)) == filepath.Base(runDir) {
		t.Fatalf("prepare did not move the data dir: %s", moved)
	}
	recs, err := readMoved(stateDir, run)
	if err != nil || len(recs) != 1 || recs[0].Moved != moved || recs[0].Link != dir {
		t.Fatalf("record %+v, %v; want %s moved to %s", recs, err, dir, moved)
	}
	if err := os.WriteFile(filepath.Join(dir, "todo.db"), []byte("rows"), 0o600); err != nil {
		t.Fatal(err)
	}
	// the lab crashes here: no restore
	deadLock(t, stateDir, run)
	if _, err := Reap(context.Background(), stateDir, quietLog); err != nil {
		t.Fatal(err)
	}
	checkBack(t, dir, moved)
}

// Several runtimes of one process share a run's data directory (each zone's
// agent in the lab's process has its own): the first to prepare it moves
// it, the others use it where it went, and only the last restore puts it
// back, once every runtime is done with it.
func TestRuntimesOfOneProcessShareTheMovedDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the data dir is moved only when the lab runs as root")
	}
	runDir := t.TempDir()
	if err := os.Chmod(runDir, 0o700); err != nil { // nobody may not search it
		t.Fatal(err)
	}
	const run = "shared-data-dir"
	dir := filepath.Join(runDir, "data")
	ds := make([]*dataDirs, 3)
	got := make([]string, len(ds))
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i := range ds {
		ds[i] = &dataDirs{stateDir: t.TempDir(), runID: run}
		wg.Add(1)
		go func() { defer wg.Done(); got[i], errs[i] = ds[i].prepare(dir) }() // at once, as three agents launch
	}
	wg.Wait()
	for i := range ds {
		if errs[i] != nil {
			t.Fatalf("runtime %d: prepare: %v", i, errs[i])
		}
		if got[i] != got[0] || got[i] == dir {
			t.Fatalf("prepare gave %v; want one moved directory for all", got)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "todo.db"), []byte("rows"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range ds[:2] {
		if err := ds[i].restore(); err != nil {
			t.Fatalf("runtime %d: restore: %v", i, err)
		}
		if target, err := os.Readlink(dir); err != nil || target != got[0] {
			t.Fatalf("after runtime %d's restore, with another still using it, the data dir is not the link to %s: %q, %v", i, got[0], target, err)
		}
	}
	if err := ds[2].restore(); err != nil {
		t.Fatalf("the last restore: %v", err)
	}
	checkBack(t, dir, got[0])
}
