package runlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
)

// holderEnv makes the test binary a run that holds its lock (in the state
// directory the variable names), says "held" and waits to be killed.
const holderEnv = "RUNLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holderEnv); dir != "" {
		self, _ := osproc.Self()
		h, err := Hold(dir, Owner{RunID: "run-child", Process: self, Dir: "/somewhere/run-child"})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString("held\n")
		defer h.Release() // never reached: keeps the lock from the collector
		select {}
	}
	os.Exit(m.Run())
}

func TestALiveRunsLockCannotBeTakenAndADeadOnesCan(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), holderEnv+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = child.Wait(); close(done) }()
	t.Cleanup(func() { _ = child.Process.Kill(); <-done })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "held" {
		t.Fatalf("child: %q, %v", line, err)
	}

	if _, err := Try(dir, "run-child"); !errors.Is(err, ErrAlive) {
		t.Fatalf("Try on a live run = %v, want ErrAlive", err)
	}
	alive, err := Alive(dir)
	if err != nil || len(alive) != 1 || alive[0].RunID != "run-child" || alive[0].Process.PID != child.Process.Pid {
		t.Fatalf("Alive = %+v, %v; want the child's run and pid %d", alive, err, child.Process.Pid)
	}

	_ = child.Process.Kill()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("child not gone")
	}
	c, err := Try(dir, "run-child")
	if err != nil {
		t.Fatalf("Try on a dead run: %v", err)
	}
	if c.Owner().Dir != "/somewhere/run-child" {
		t.Errorf("the dead run's lock says %+v", c.Owner())
	}
	// A second reaper in this process shares the claim.
	c2, err := Try(dir, "run-child")
	if err != nil || c2 != c {
		t.Fatalf("second Try in the same process = %p, %v; want the first claim", c2, err)
	}
	c2.Release()
	c.Remove()
	if _, err := os.Stat(Path(dir, "run-child")); !os.IsNotExist(err) {
		t.Errorf("lock file of the cleaned-up run: %v", err)
	}
	if _, err := Try(dir, "run-child"); !errors.Is(err, ErrNoLock) {
		t.Errorf("Try after removal = %v, want ErrNoLock", err)
	}
}

func TestHoldInThisProcessIsSeenAlive(t *testing.T) {
	dir := t.TempDir()
	h, err := Hold(dir, Owner{RunID: "run-a", Subnets: []string{"127.0.1.0/24"}, Ports: []int{80, 8080}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Try(dir, "run-a"); !errors.Is(err, ErrAlive) {
		t.Fatalf("Try on this process's live run = %v, want ErrAlive", err)
	}
	if _, err := Hold(dir, Owner{RunID: "run-a"}); err == nil {
		t.Fatal("a second Hold of a held run succeeded")
	}
	fi, err := os.Stat(h.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := h.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.Path()); !os.IsNotExist(err) {
		t.Errorf("lock file after Release: %v", err)
	}
}

func TestConflicts(t *testing.T) {
	a := Owner{Subnets: []string{"127.0.1.0/24", "127.0.2.0/24"}, Ports: []int{80, 8080}, Addrs: []string{"127.0.0.201:5432"}}
	for _, c := range []struct {
		b    Owner
		want bool
	}{
		{Owner{Subnets: []string{"127.0.2.0/24"}, Ports: []int{8080}}, true},
		{Owner{Subnets: []string{"127.0.2.0/24"}, Ports: []int{81, 8081}}, false},
		{Owner{Subnets: []string{"127.0.3.0/24"}, Ports: []int{80}}, false},
		// database endpoints: the same stable address whatever the zones
		{Owner{Subnets: []string{"127.0.3.0/24"}, Ports: []int{5432}, Addrs: []string{"127.0.0.200:5432", "127.0.0.201:5432"}}, true},
		{Owner{Subnets: []string{"127.0.3.0/24"}, Ports: []int{5432}, Addrs: []string{"127.0.0.200:5433"}}, false},
	} {
		if got := a.Conflicts(c.b); got != c.want {
			t.Errorf("Conflicts(%+v) = %v, want %v", c.b, got, c.want)
		}
	}
	// Overlap says what clashes: the endpoint address alone (the zones
	// differ, so the port in common is no clash there)...
	b := Owner{Subnets: []string{"127.0.3.0/24"}, Ports: []int{5432}, Addrs: []string{"127.0.0.200:5432", "127.0.0.201:5432"}}
	if c := a.Overlap(b); !slices.Equal(c.Addrs, []string{"127.0.0.201:5432"}) || len(c.Ports) != 0 || len(c.Subnets) != 0 {
		t.Errorf("Overlap = %+v; want the endpoint address 127.0.0.201:5432 alone", c)
	}
	// ...or the shared zone's port
	b = Owner{Subnets: []string{"127.0.2.0/24", "127.0.3.0/24"}, Ports: []int{8080, 9000}}
	if c := a.Overlap(b); len(c.Addrs) != 0 || !slices.Equal(c.Subnets, []string{"127.0.2.0/24"}) || !slices.Equal(c.Ports, []int{8080}) {
		t.Errorf("Overlap = %+v; want port 8080 on 127.0.2.0/24", c)
	}
}

func TestRefusesASymlinkedOrForeignStateDir(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Hold(link, Owner{RunID: "run-x"}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Hold in a symlinked state dir = %v, want a refusal naming the symbolic link", err)
	}
	if err := CheckOwnDir("/"); os.Getuid() != 0 && (err == nil || !strings.Contains(err.Error(), "owned by uid 0")) {
		t.Errorf("CheckOwnDir(/) = %v, want a refusal naming its owner", err)
	}
	// A lock file planted as a symlink is not followed.
	if err := os.Symlink("/etc/passwd", Path(real, "run-y")); err != nil {
		t.Fatal(err)
	}
	if _, err := Try(real, "run-y"); err == nil || errors.Is(err, ErrNoLock) || errors.Is(err, ErrAlive) {
		t.Errorf("Try on a symlinked lock file = %v, want an error", err)
	}
}
