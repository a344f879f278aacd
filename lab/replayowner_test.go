package lab

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/rundir"
)

// A run directory copied away from a live run (or replayed with another
// state directory) has no lock file to go by, and its journal's lock is not
// held by the copy: lab down must still leave it alone while the process
// that opened the journal lives, and undo it once that process is dead.
func TestReplayCrashedLeavesAJournalOfALiveOwnerAlone(t *testing.T) {
	runs := t.TempDir()
	dir := filepath.Join(runs, "20260101-000000-copied")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, rundir.ChaosFile)
	j, err := chaos.OpenFileJournal(path) // its owner: this test process, alive
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Record(chaos.FaultInjected{N: 1, Action: chaos.StopInstance, Instance: "i-0a", Zone: "us-east-1a"}); err != nil {
		t.Fatal(err)
	}
	j.Close() // nobody holds the journal's lock now

	got, err := ReplayCrashed(context.Background(), t.TempDir(), runs) // a state directory without the run's lock
	if err != nil || len(got) != 0 {
		t.Fatalf("ReplayCrashed = %+v, %v; want nothing touched while the journal's owner lives", got, err)
	}
	if left, _, _ := chaos.Outstanding(path); len(left) != 1 {
		t.Fatalf("outstanding %+v; want the fault still open", left)
	}

	// Its owner dead, the same journal is replayed.
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, withDeadOwner(t, b), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = ReplayCrashed(context.Background(), t.TempDir(), runs)
	if err != nil || len(got) != 1 || len(got[0].Reverted) != 1 || got[0].Err != nil {
		t.Fatalf("ReplayCrashed with the owner dead = %+v, %v; want the stop reverted", got, err)
	}
}

// withDeadOwner returns journal with its JournalOpened lines naming a
// process that has exited (a child started, identified, killed and waited
// for), as a crashed run's journal does.
func withDeadOwner(t *testing.T, journal []byte) []byte {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dead, err := osproc.Identify(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	opened, err := json.Marshal(map[string]any{"type": "chaos.JournalOpened", "entry": chaos.JournalOpened{PID: dead.PID, Process: dead}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(journal), "\n")
	n := 0
	for i, l := range lines {
		if strings.Contains(l, `"type":"chaos.JournalOpened"`) {
			lines[i], n = string(opened)+"\n", n+1
		}
	}
	if n == 0 {
		t.Fatalf("no JournalOpened line in the journal:\n%s", journal)
	}
	return []byte(strings.Join(lines, ""))
}
