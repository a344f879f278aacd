package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// The agents' directories of a lab process that is gone are removed; a
// live one's are left alone, and so is what is not a lab's. An older lab's
// (N/state, one set for every run) are reaped too, and removed once empty.
func TestRemoveGoneInProcessAgents(t *testing.T) {
	state := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	root := InProcessAgentsDir(state)
	dead := filepath.Join(root, strconv.Itoa(gone.Process.Pid)+"-123", "1", "state")
	live := filepath.Join(root, strconv.Itoa(os.Getpid())+"-456", "1", "state")
	other := filepath.Join(root, "notes")
	older := filepath.Join(root, "1", "state") // an older lab's layout, one set for every run: reaped, then removed once empty
	olderKept := filepath.Join(root, "2", "state", "run-x")
	for _, d := range []string{dead, live, other, older, olderKept} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeGoneInProcessAgents(state)
	if _, err := os.Stat(filepath.Join(root, strconv.Itoa(gone.Process.Pid)+"-123")); !os.IsNotExist(err) {
		t.Errorf("a gone lab's agents' directory is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "1")); !os.IsNotExist(err) {
		t.Errorf("an older lab's empty agents' directory is still there (%v)", err)
	}
	if _, err := os.Stat(olderKept); err != nil {
		t.Errorf("an older lab's agents' directory with records in it was removed: %v", err)
	}
	if got, want := inProcessAgentStateDirs(state), []string{live, filepath.Dir(olderKept)}; !slices.Equal(got, want) {
		t.Errorf("state dirs %v, want %v", got, want)
	}
}
