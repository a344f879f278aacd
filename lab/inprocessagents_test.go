package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// The agents' directories of a lab process that is gone are removed; a
// live one's are left alone, and so is what is not a lab's.
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
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	RemoveGoneInProcessAgents(state)
	if _, err := os.Stat(filepath.Join(root, strconv.Itoa(gone.Process.Pid)+"-123")); !os.IsNotExist(err) {
		t.Errorf("a gone lab's agents' directory is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	if got := InProcessAgentStateDirs(state); len(got) != 1 || got[0] != live {
		t.Errorf("state dirs %v, want the live one, %s", got, live)
	}
}
