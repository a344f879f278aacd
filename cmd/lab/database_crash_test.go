package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/sim/rds"
)

// TestDatabaseCrashIsCleanedByLabDown runs a real `lab up` with a Multi-AZ
// database in a process of its own, kills it, and checks that `lab down`
// leaves nothing of the data tier: no server, no record or lock of the
// tier's run, no data directory (in the run directory, or moved to the
// temporary directory for nobody when the lab is root).
func TestDatabaseCrashIsCleanedByLabDown(t *testing.T) {
	if _, err := rds.Find(); err != nil {
		t.Skipf("%v", err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_STATE_HOME", state)
	stackFile := write(t, dir, "stack.yaml", fmt.Sprintf(testStack, 18497, 18497)+`database:
  engine: postgres
  db_instance_class: db.t3.micro
  multi_az: true
  port: 18498
`)
	runs := filepath.Join(dir, "runs")
	up := exec.Command(labBin, "up", "--stack", stackFile, "--speed", "20", "--driver", "process", "--runs-dir", runs)
	up.Stderr = os.Stderr
	out, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Database: Multi-AZ DB instance") {
				close(ready)
			}
		}
		_ = up.Wait()
		close(done)
	}()
	t.Cleanup(func() { _ = up.Process.Kill(); <-done })
	select {
	case <-ready:
	case <-done:
		t.Fatal("lab up exited before its database was up")
	case <-time.After(90 * time.Second):
		t.Fatal("no database within 90 s")
	}
	ents, _ := os.ReadDir(runs)
	if len(ents) != 1 {
		t.Fatalf("runs has %d entries", len(ents))
	}
	runID := ents[0].Name()
	tier := runID + lab.DatabaseRunSuffix
	var data []string // where the servers' data really is
	for _, id := range []string{"itest-db", "itest-db-standby"} {
		p, err := filepath.EvalSymlinks(filepath.Join(runs, runID, "rds", id))
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, p)
	}
	if len(processesOf(tier)) < 2 {
		t.Fatalf("no server carries LAB_RUN_ID=%s", tier)
	}

	_ = up.Process.Signal(syscall.SIGKILL)
	<-done
	code, downOut, downErr := runLab(t, "down", "--runs-dir", runs)
	if code != exitOK || !strings.Contains(downOut, "Removed the database data of 1 run(s) that crashed.") {
		t.Fatalf("lab down after the crash: exit %d\n%s\n%s", code, downOut, downErr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(processesOf(tier)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := processesOf(tier); len(left) > 0 {
		t.Errorf("database servers left after lab down: %v", left)
	}
	// The instances' runtime made the run's cgroup directories before any
	// instance had a record; lab down removes them too.
	cgroupDirs, _ := filepath.Glob("/sys/fs/cgroup/*/lab-" + runID + "*")
	v2, _ := filepath.Glob("/sys/fs/cgroup/lab-" + runID + "*")
	if left := append(cgroupDirs, v2...); len(left) > 0 {
		t.Errorf("cgroup directories left after lab down: %v", left)
	}
	for _, p := range append(data, filepath.Join(runs, runID, "rds"), filepath.Join(state, "lab", tier), filepath.Join(state, "lab", tier+".lock")) {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after lab down: %v", p, err)
		}
	}
}
