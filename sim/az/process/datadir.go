package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// movedFile is the record of a data directory moved for nobody to reach
// (privilege.go), in the run's records directory: StateDir/<run>/movedFile.
// It is not a .json instance record. A reaper that finds it for a dead run
// moves the directory back into the run directory, so that a crash does not
// leave /tmp/lab-data-* behind.
const movedFile = "data-dir.moved"

// tempDataPrefix names the directories prepare makes in the system's
// temporary directory; a reaper removes nothing else.
const tempDataPrefix = "lab-data-"

// movedRecord says where a run's data directory was moved.
type movedRecord struct {
	Link  string `json:"link"`  // the run's data directory, now a symbolic link
	Moved string `json:"moved"` // where its files are: <tmp>/lab-data-*
}

// writeMoved records that link's files are at moved (temp file and rename).
func writeMoved(stateDir, runID string, recs []movedRecord) error {
	dir := filepath.Join(stateDir, runID)
	path := filepath.Join(dir, movedFile)
	if len(recs) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("record the moved data dir: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("record the moved data dir: %w", err)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return fmt.Errorf("record the moved data dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("record the moved data dir: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("record the moved data dir: %w", err)
	}
	return nil
}

// readMoved reads a run's record of moved data directories: none when there
// is no record. The record must be a regular file (not a link).
func readMoved(stateDir, runID string) ([]movedRecord, error) {
	path := filepath.Join(stateDir, runID, movedFile)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var recs []movedRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return recs, nil
}

// reapMoved puts back the data directories a dead run moved (the caller
// holds the run's lock: it is dead) and removes the record. Each moved
// directory must be an absolute, clean path named lab-data-*, itself a
// directory and not a symbolic link; anything else is left as it is. Its
// files go back where the run's data directory was when that is still the
// symbolic link to it; else (the run directory is gone, or holds something
// else there now) the moved directory is removed. No symbolic link is
// followed: neither the moved path nor anything inside it.
func reapMoved(stateDir, runID string, logger *slog.Logger) error {
	recs, err := readMoved(stateDir, runID)
	if err != nil || len(recs) == 0 {
		return err
	}
	var errs []error
	for _, rec := range recs {
		if err := reapOneMoved(rec, logger, runID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return writeMoved(stateDir, runID, nil)
}

func reapOneMoved(rec movedRecord, logger *slog.Logger, runID string) error {
	m := rec.Moved
	if !filepath.IsAbs(m) || filepath.Clean(m) != m || !strings.HasPrefix(filepath.Base(m), tempDataPrefix) {
		return fmt.Errorf("moved data dir record: refusing path %q (want an absolute <tmp>/%s* path)", m, tempDataPrefix)
	}
	fi, err := os.Lstat(m)
	if errors.Is(err, os.ErrNotExist) {
		return nil // gone already
	} else if err != nil {
		return fmt.Errorf("moved data dir: %w", err)
	}
	if !fi.IsDir() {
		// a symbolic link (or a file) where the directory was: not ours
		logger.Warn("moved data dir is not a directory; left as it is", "run", runID, "path", m, "mode", fi.Mode().String())
		return nil
	}
	if l := rec.Link; filepath.IsAbs(l) && filepath.Clean(l) == l {
		if target, err := os.Readlink(l); err == nil && target == m {
			if err := os.Remove(l); err != nil {
				return fmt.Errorf("moved data dir: %w", err)
			}
			if err := moveDir(m, l); err != nil {
				return errors.Join(fmt.Errorf("move the data back from %s: %w", m, err), os.Symlink(m, l))
			}
			logger.Info("moved a dead run's data back into its run directory", "run", runID, "from", m, "to", l)
			return nil
		}
	}
	if err := os.RemoveAll(m); err != nil {
		return fmt.Errorf("remove a dead run's moved data dir: %w", err)
	}
	logger.Info("removed a dead run's moved data dir (its run directory no longer links to it)", "run", runID, "path", m)
	return nil
}

// rename is os.Rename; tests make it fail as across filesystems.
var rename = os.Rename

// moveDir moves directory src to dst (which must not exist): a rename, or,
// across filesystems, a copy of its directories and regular files (their
// modes and owners kept; anything else, a symbolic link among them, is not
// copied) and the removal of src.
func moveDir(src, dst string) error {
	err := rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	if err := copyTree(src, dst); err != nil {
		_ = os.RemoveAll(dst)
		return err
	}
	return os.RemoveAll(src)
}

// MoveDir is moveDir for the lab's other trees (a run's files an agent in
// the lab's process kept, cmd/lab): a rename, or a copy across filesystems.
func MoveDir(src, dst string) error { return moveDir(src, dst) }

// copyTree copies src into a new dst as root may do it safely although
// nobody owns src's files: every read and write goes through an os.Root
// (src's and dst's), so a symbolic link planted mid-copy cannot lead out
// of either tree; the copy is made root's and 0700 first, and each entry
// gets its owner and mode only once everything under it is in place
// (children before their directory), so no one else can change the tree
// while root still writes in it.
func copyTree(src, dst string) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	from, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer to.Close()
	type owned struct {
		name     string
		uid, gid int
		mode     fs.FileMode
	}
	var last []owned // in walk order: parents before children
	err = fs.WalkDir(from.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case name == ".":
		case d.IsDir():
			if err := to.Mkdir(name, 0o700); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(from, to, name); err != nil {
				return err
			}
		default:
			return nil // a link, socket or device: not copied, never followed
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			last = append(last, owned{name, int(st.Uid), int(st.Gid), fi.Mode().Perm()})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(last) - 1; i >= 0; i-- { // children first, "." last
		o := last[i]
		if err := errors.Join(to.Chmod(o.name, o.mode), to.Lchown(o.name, o.uid, o.gid)); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the regular file name from one root to the other,
// neither end through a symbolic link; the copy is root's, 0600, until
// copyTree gives it its owner and mode.
func copyFile(from, to *os.Root, name string) error {
	in, err := from.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("copy %s: not a regular file", name)
	}
	out, err := to.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
