package lab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/stack"
)

// A runs directory given as a symbolic link, or owned by someone else, and
// a state directory owned by someone else, are refused before anything
// starts, with an error that says why.
func TestStartRefusesForeignOrSymlinkedDirectories(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	st := testStack(t, 18571)
	state := filepath.Join(base, "state")
	_, err := Start(context.Background(), Options{Stack: st, RunsDir: link, StateDir: state, Driver: DriverProcess})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("--out a symbolic link: err = %v, want a refusal naming the symbolic link", err)
	}
	_, err = Start(context.Background(), Options{Stack: st, RunsDir: link + "/", StateDir: state, Driver: DriverProcess})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("--out a symbolic link with a trailing slash: err = %v, want a refusal", err)
	}
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Errorf("the link's target got %d entries", len(ents))
	}
	if os.Getuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	foreign := filepath.Join(base, "foreign")
	if err := os.Mkdir(foreign, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Options{Stack: st, RunsDir: foreign, StateDir: state, Driver: DriverProcess})
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("a runs directory of another user: err = %v, want a refusal naming its owner", err)
	}
	_, err = Start(context.Background(), Options{Stack: st, RunsDir: real, StateDir: foreign, Driver: DriverProcess})
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("a state directory of another user: err = %v, want a refusal naming its owner", err)
	}
}

// A run holds its lock from Start to Close; its run directory, journal and
// logs are its owner's only; a second lab on the same addresses is refused
// with a LiveRunError naming the first, and the first is untouched.
func TestARunHoldsItsLockAndItsFilesAreOwnerOnly(t *testing.T) {
	base := t.TempDir()
	state := filepath.Join(base, "state")
	st := testStack(t, 18572)
	l, err := Start(context.Background(), Options{Stack: st, RunsDir: filepath.Join(base, "runs"), StateDir: state, Driver: DriverProcess})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := runlock.Try(state, l.RunID); !errors.Is(err, runlock.ErrAlive) {
		t.Fatalf("Try on a started run = %v, want ErrAlive", err)
	}
	_, err = Start(context.Background(), Options{Stack: testStack(t, 18572), RunsDir: filepath.Join(base, "runs2"), StateDir: state, Driver: DriverProcess})
	var live *LiveRunError
	if !errors.As(err, &live) || live.RunID != l.RunID || live.PID != os.Getpid() {
		t.Fatalf("a second lab on the same addresses: err = %v, want a LiveRunError naming %s and pid %d", err, l.RunID, os.Getpid())
	}
	if _, err := os.Stat(filepath.Join(base, "runs2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused lab made its runs directory (stat: %v): it must create nothing", err)
	}
	// The first lab is still whole: the group's instances come up.
	waitFor(t, "the first lab's instances", 60*time.Second, func() bool { return len(l.Instances()) == 3 })

	mode := func(name string) os.FileMode {
		fi, err := os.Lstat(filepath.Join(l.Dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return fi.Mode().Perm()
	}
	for name, want := range map[string]os.FileMode{
		"": 0o711, rundir.EventsFile: 0o600, rundir.AccessLogFile: 0o600, "logs": 0o700,
	} {
		if got := mode(name); got != want {
			t.Errorf("%q mode %v, want %v", name, got, want)
		}
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(runlock.Path(state, l.RunID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run's lock file after Close: %v", err)
	}
}

// A refusal names what clashes: a database endpoint address (which every
// run's tier takes from 127.0.0.200 whatever its zones) and database.port,
// not the listener's ports; a listener clash names the listener's ports.
func TestLiveRunErrorNamesWhatClashes(t *testing.T) {
	s := &stack.Stack{Database: &stack.Database{Port: 5432}}
	s.LoadBalancer.ListenerPort, s.TargetGroup.Port, s.LaunchTemplate.Port = 18080, 18081, 18081
	me := runlock.Owner{RunID: "b", Subnets: []string{"127.0.3.0/24"}, Ports: []int{18080, 18081, 5432},
		Addrs: []string{"127.0.0.200:5432", "127.0.0.201:5432"}}
	live := runlock.Owner{RunID: "a", Dir: "/runs/a", Process: osproc.ID{PID: 42}, Subnets: []string{"127.0.1.0/24"}, Ports: []int{18080, 5432},
		Addrs: []string{"127.0.0.200:5432"}}
	msg := liveRunClash(s, me, live).Error()
	for _, want := range []string{"run a (pid 42, evidence in /runs/a) is alive and serves on the database endpoint address 127.0.0.200:5432",
		"give this stack other ports (database.port)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("endpoint clash: %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "listener.port") {
		t.Errorf("endpoint clash: %q names the listener's port, which does not clash (other zones)", msg)
	}
	live = runlock.Owner{RunID: "a", Dir: "/runs/a", Process: osproc.ID{PID: 42}, Subnets: []string{"127.0.3.0/24"}, Ports: []int{18080}}
	msg = liveRunClash(s, me, live).Error()
	if want := "serves on port 18080 on the zone subnets 127.0.3.0/24; stop it first (Ctrl-C in its terminal), or give this stack other ports (listener.port)"; !strings.Contains(msg, want) {
		t.Errorf("listener clash: %q lacks %q", msg, want)
	}
	msg = (&LiveRunError{Addr: "127.0.0.200:5432", Endpoints: []string{"127.0.0.200:5432"}, Fields: []string{"database.port"}}).Error()
	if want := "127.0.0.200:5432, where this stack's database endpoint would listen"; !strings.Contains(msg, want) || strings.Contains(msg, "listener.port") {
		t.Errorf("an endpoint address held by another program: %q; want %q and no listener.port", msg, want)
	}
}
