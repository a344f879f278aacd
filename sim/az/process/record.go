package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/internal/runns"
)

// record is what the runtime leaves on disk for each live process, so that a
// later lab can reap it if this one crashes.
type record struct {
	RunID      string    `json:"run_id"`
	InstanceID string    `json:"instance_id"`
	Process    osproc.ID `json:"process"` // the instance's process
	Owner      osproc.ID `json:"owner"`   // the lab that launched it
	Cgroups    []string  `json:"cgroups,omitempty"`
}

func recordPath(stateDir, runID, id string) string {
	return filepath.Join(stateDir, runID, id+".json")
}

// writeRecord writes rec atomically (temp file and rename).
func writeRecord(stateDir string, rec record) error {
	dir := filepath.Join(stateDir, rec.RunID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	path := recordPath(stateDir, rec.RunID, rec.InstanceID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

func removeRecord(stateDir, runID, id string) error {
	err := os.Remove(recordPath(stateDir, runID, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove record: %w", err)
	}
	return nil
}

// Reap cleans up after labs that died without closing their runtime: for
// every run directory under stateDir whose run is dead, it kills each
// recorded process that is still the same process (same pid, start tick and
// boot, LAB_RUN_ID=<run> in its environment), removes its cgroups and the
// records, and moves back a data directory the run moved for nobody
// (<tmp>/lab-data-*; only for a run dead by its lock). It returns how many
// processes it killed.
//
// A run is dead when its lock (internal/runlock) can be taken; a run that
// holds it is alive and left alone, whatever its pid says. A run with no
// lock file in stateDir (a runtime used without a lab) is judged by its
// owner's identity in the records.
func Reap(ctx context.Context, stateDir string, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if stateDir == "" {
		stateDir = defaultStateDir()
	}
	runs, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reap %s: %w", stateDir, err)
	}
	killed := 0
	var errs []error
	for _, run := range runs {
		if !run.IsDir() {
			continue
		}
		n, err := reapRun(ctx, stateDir, run.Name(), logger)
		killed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("reap run %s: %w", run.Name(), err))
		}
	}
	return killed, errors.Join(errs...)
}

func reapRun(ctx context.Context, stateDir, runID string, logger *slog.Logger) (int, error) {
	dir := filepath.Join(stateDir, runID)
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return 0, nil // a symbolic link is never followed
	}
	claim, err := runlock.Try(stateDir, runID)
	switch {
	case errors.Is(err, runlock.ErrAlive):
		return 0, nil // the run holds its lock: not ours to touch
	case errors.Is(err, runlock.ErrNoLock):
		claim = nil // judged by the owner's identity below
	case err != nil:
		return 0, err
	default:
		defer claim.Release()
	}
	killed := 0
	var errs []error
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	for _, f := range files {
		var rec record
		b, err := os.ReadFile(f)
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", f, err))
			continue
		}
		if rec.RunID != runID {
			errs = append(errs, fmt.Errorf("%s: record names run %q", f, rec.RunID))
			continue
		}
		if claim == nil && (!rec.Owner.Valid() || osproc.Same(rec.Owner)) {
			// No lock file, and the owning lab is alive or cannot be
			// identified (a record of an older lab): not ours to touch.
			return killed, nil
		}
		pid := rec.Process.PID
		if osproc.Same(rec.Process) && osproc.HasEnv(pid, "LAB_RUN_ID="+runID) {
			if err := killAndWait(ctx, pid); err != nil {
				errs = append(errs, fmt.Errorf("kill %s pid %d: %w", rec.InstanceID, pid, err))
				continue
			}
			killed++
			logger.Info("reaped instance left by a dead lab", "run", runID, "instance", rec.InstanceID, "pid", pid)
		}
		if err := removeCgroupDirs(ctx, rec); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if claim != nil {
		// Dead by its lock, and its instances gone (none of them may touch
		// the files while they move): its data directory, if it was moved
		// for nobody, goes back into its run directory (datadir.go),
		// A kill that failed leaves the files where they are, for the next
		// reaper.
		if len(errs) == 0 {
			if err := reapMoved(stateDir, runID, logger); err != nil {
				errs = append(errs, err)
			}
		}
		// and its run's cgroup directories, which a run that crashed
		// before its first instance had a record of left behind (rmdir
		// removes only an empty one: a cgroup directory with instances'
		// directories in it stays for their records' reaping above);
		for _, d := range runCgroupDirs(runID) {
			if err := os.Remove(d); err == nil {
				logger.Info("removed the cgroup of a dead run", "run", runID, "cgroup", d)
			}
		}
		// and its network namespace (Options.Isolate), named after it.
		if name := runns.Name(runID); runns.Exists(name) {
			if err := runns.Delete(name); err != nil {
				errs = append(errs, err)
			} else {
				logger.Info("removed the network namespace of a dead run", "run", runID, "namespace", name)
			}
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(dir) // only if empty
	}
	return killed, errors.Join(errs...)
}

// killAndWait sends SIGKILL to pid and its process group and waits until it
// is gone (or a zombie waiting for its parent).
func killAndWait(ctx context.Context, pid int) error {
	if pid <= 1 {
		return fmt.Errorf("refusing to kill pid %d", pid)
	}
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return waitGone(ctx, pid, 5*time.Second)
}

func waitGone(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !osproc.Zombie(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d still alive after %s", pid, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// removeCgroupDirs kills whatever is left in the record's cgroups and
// removes them and, if empty, their lab-<run> parents. Only directories
// named <instance> under lab-<run> under /sys/fs/cgroup are touched.
func removeCgroupDirs(ctx context.Context, rec record) error {
	var errs []error
	for _, d := range rec.Cgroups {
		d = filepath.Clean(d)
		parent := filepath.Dir(d)
		if !strings.HasPrefix(d, cgroupRoot+"/") || filepath.Base(d) != rec.InstanceID ||
			filepath.Base(parent) != "lab-"+rec.RunID {
			errs = append(errs, fmt.Errorf("record %s: refusing cgroup path %s", rec.InstanceID, d))
			continue
		}
		if err := removeCgroupDir(ctx, d); err != nil {
			errs = append(errs, err)
		}
		_ = os.Remove(parent) // fails while other instances remain
	}
	return errors.Join(errs...)
}
