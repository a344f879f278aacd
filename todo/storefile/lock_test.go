package storefile

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// holderEnv makes the test binary a lock holder: it takes the locks of the
// database named by the variable, says "locked", and holds them until its
// standard input closes.
const holderEnv = "STOREFILE_TEST_HOLD"

func TestMain(m *testing.M) {
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
