package storefile

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// holderEnv makes the test binary a lock holder: it takes the locks of the
// database named by the variable, says "locked", and holds them until its
// standard input closes.
const holderEnv = "STOREFILE_TEST_HOLD"

// probeEnv makes the test binary say whether another process holds the
// locks of the database the variable names ("true" or "false").
const probeEnv = "STOREFILE_TEST_PROBE"

func TestMain(m *testing.M) {
	if path := os.Getenv(probeEnv); path != "" {
		locked, err := Locked(path)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(strconv.FormatBool(locked) + "\n")
		os.Exit(0)
	}
	if path := os.Getenv(holderEnv); path != "" {
		release, err := Lock(context.Background(), path)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		_ = release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts a second process that holds the locks of path; stop
// releases them by ending it.
func holder(t *testing.T, path string) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("holder said %q", line)
	}
	return func() { in.Close(); _ = cmd.Wait() }
}

func TestLockIsSeenByOthersAndReleased(t *testing.T) {
	db := filepath.Join(t.TempDir(), Name)
	if err := os.WriteFile(db+"-shm", make([]byte, 32768), 0o600); err != nil {
		t.Fatal(err)
	}
	if locked, err := Locked(db); err != nil || locked {
		t.Fatalf("before any lock: Locked = %v, %v; want false", locked, err)
	}
	stop := holder(t, db)
	if locked, err := Locked(db); err != nil || !locked {
		t.Fatalf("while another process holds the locks: Locked = %v, %v; want true", locked, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // do not wait the 5 s out
	if _, err := Lock(ctx, db); err == nil || !strings.Contains(err.Error(), "stayed locked") {
		t.Fatalf("Lock while held elsewhere: err = %v, want 'stayed locked'", err)
	}
	stop()
	if locked, err := Locked(db); err != nil || locked {
		t.Fatalf("after the holder ended: Locked = %v, %v; want false", locked, err)
	}
	release, err := Lock(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatalf("second release: %v, want nil (safe twice)", err)
	}
}

func TestLockWithoutWAL(t *testing.T) {
	db := filepath.Join(t.TempDir(), Name)
	if _, err := Lock(context.Background(), db); err == nil || !strings.Contains(err.Error(), "not open in WAL mode") {
		t.Fatalf("err = %v, want the database is not open in WAL mode", err)
	}
	if locked, err := Locked(db); err != nil || locked {
		t.Fatalf("Locked = %v, %v; want false, nil", locked, err)
	}
}

// lockedElsewhere asks another process whether the database is locked.
func lockedElsewhere(t *testing.T, path string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), probeEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe: %v %s", err, out)
	}
	return strings.TrimSpace(string(out)) == "true"
}

// Two store outages that overlap share one holder: ending the first keeps
// the second's locks (a descriptor of its own, closed, would drop every
// POSIX lock this process holds on the file), and asking Locked in between
// does not drop them either.
func TestOverlappingLocksShareOneHolder(t *testing.T) {
	db := filepath.Join(t.TempDir(), Name)
	if err := os.WriteFile(db+"-shm", make([]byte, 32768), 0o600); err != nil {
		t.Fatal(err)
	}
	first, err := Lock(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Lock(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if locked, err := Locked(db); err != nil || locked {
		t.Fatalf("Locked in the holding process = %v, %v; want false (its own locks are not another's)", locked, err)
	}
	if !lockedElsewhere(t, db) {
		t.Fatal("the second outage's locks went when the first ended")
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if lockedElsewhere(t, db) {
		t.Fatal("the locks outlived the last release")
	}
}

func TestLockRefusesASymlinkedSideFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, make([]byte, 32768), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, Name)
	if err := os.Symlink(target, db+"-shm"); err != nil {
		t.Fatal(err)
	}
	if release, err := Lock(context.Background(), db); err == nil {
		release()
		t.Fatal("a symlinked -shm file was locked through the link")
	}
}
