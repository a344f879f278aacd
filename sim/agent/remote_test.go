package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
	"github.com/simplydone/lab/sim/az/process"
)

// spinBin is the process runtime's test workload, built once.
var spinBin string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == process.ShimArg {
		os.Exit(process.Shim(os.Args[2:]))
	}
	dir, err := os.MkdirTemp("", "lab-agent-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Chmod(dir, 0o755) // instances run as nobody when the test is root
	spinBin = filepath.Join(dir, "spin")
	build := exec.Command("go", "build", "-o", spinBin, "../az/process/testdata/spin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build spin:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// processFactory makes real process runtimes, their records and logs in
// the run's directory on the agent, as cmd/lab's factory does.
func processFactory(_ context.Context, runID, driver, dir string) (az.Runtime, error) {
	if driver != "process" {
		return nil, fmt.Errorf("driver %s: this test runs processes", driver)
	}
	return process.New(process.Options{RunID: runID, StateDir: filepath.Join(dir, "state"), LogDir: filepath.Join(dir, "logs"),
		Logger: quiet, Grace: 2 * time.Second})
}

var runSeq atomic.Int64

func newRunID() string { return fmt.Sprintf("agent-test-%d-%d", os.Getpid(), runSeq.Add(1)) }

// remote is a run on a new agent over loopback TLS, closed when the test
// ends.
func remote(t *testing.T, cfg Config) (*Remote, *Server) {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = token(t)
	}
	if cfg.NewRuntime == nil {
		cfg.NewRuntime = processFactory
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s, addr := serve(t, cfg)
	r, err := DialRun(context.Background(), addr, cfg.Token, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("remote close: %v", err)
		}
	})
	return r, s
}

var idSeq atomic.Int64

// spec is a spin instance on addr and a free port there.
func spec(t testing.TB, addr string) az.Spec {
	t.Helper()
	a := netip.MustParseAddr(addr)
	l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return az.Spec{
		ID:      az.InstanceID(fmt.Sprintf("i-%017x", idSeq.Add(1)+int64(os.Getpid())<<24)),
		Zone:    az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("127.0.1.0/24")},
		Addr:    a,
		Port:    port,
		Type:    az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128},
		Command: []string{spinBin},
		DataDir: "/nonexistent/on/the/agent", // the agent puts it in the run's directory
	}
}

// A Remote passes the contract every runtime passes: the process runtime
// behind an agent, over loopback TLS.
func TestContractOverTheWire(t *testing.T) {
	aztest.RunContract(t,
		func(t *testing.T) az.Runtime { r, _ := remote(t, Config{}); return r },
		func(t *testing.T, addr string) az.Spec { return spec(t, addr) })
}

func TestHogStatsAndCPUOverTheWire(t *testing.T) {
	r, _ := remote(t, Config{})
	ctx := context.Background()
	s := spec(t, "127.0.1.70")
	if _, err := r.Launch(ctx, s); err != nil {
		t.Fatal(err)
	}
	aztest.WaitServing(t, s, 30*time.Second)
	stop, err := r.Hog(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	before, err := r.CPUAccount(ctx, s.ID)
	if err != nil || before.Share != 0.25 {
		t.Fatalf("CPUAccount = %+v, %v; want the type's share 0.25", before, err)
	}
	eventually(t, 10*time.Second, "the hog uses CPU in the instance", func() bool {
		a, err := r.CPUAccount(ctx, s.ID)
		return err == nil && a.Used-before.Used >= 50*time.Millisecond
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := r.Stats(ctx, s.ID); err != nil {
		t.Errorf("Stats: %v", err)
	}
	if _, err := r.Hog(ctx, "i-00000000000000000"); !errors.Is(err, az.ErrNotFound) {
		t.Errorf("Hog(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := r.CPUAccount(ctx, "i-00000000000000000"); !errors.Is(err, az.ErrNotFound) {
		t.Errorf("CPUAccount(unknown) = %v, want ErrNotFound", err)
	}
}

// launchRecorder is a runtime that records the specs it launches.
type launchRecorder struct {
	az.Runtime
	mu    sync.Mutex
	specs []az.Spec
}

func (l *launchRecorder) Launch(ctx context.Context, s az.Spec) (az.Instance, error) {
	l.mu.Lock()
	l.specs = append(l.specs, s)
	l.mu.Unlock()
	return l.Runtime.Launch(ctx, s)
}

// An instance's data directory is the run's on the agent's host, unless
// the agent runs in the controller's process (KeepDataDir): then the
// controller's, the run's one store.
func TestLaunchDataDir(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeepDataDir=%v", keep), func(t *testing.T) {
			rec := &launchRecorder{}
			r, _ := remote(t, Config{KeepDataDir: keep, NewRuntime: func(ctx context.Context, runID, driver, dir string) (az.Runtime, error) {
				rt, err := processFactory(ctx, runID, driver, dir)
				rec.Runtime = rt
				return rec, err
			}})
			s := spec(t, "127.0.1.71")
			given := filepath.Join(t.TempDir(), "data")
			s.DataDir = given
			if _, err := r.Launch(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			got := rec.specs[0].DataDir
			rec.mu.Unlock()
			if want := filepath.Join(r.Dir(), "data"); !keep && got != want {
				t.Errorf("data dir %q, want the run's on the agent, %q", got, want)
			}
			if keep && got != given {
				t.Errorf("data dir %q, want the controller's, %q", got, given)
			}
		})
	}
}

func TestOneRunAtATime(t *testing.T) {
	tok := token(t)
	_, addr := serve(t, Config{Token: tok, Subnet: mustPrefix("127.0.1.0/24"), NewRuntime: processFactory, Logger: quiet})
	ctx := context.Background()
	c, err := Dial(ctx, addr, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := c.Open(ctx, newRunID(), "process")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, newRunID(), "process"); !errors.Is(err, ErrBusy) {
		t.Errorf("a second run while the first renews: %v, want ErrBusy", err)
	}
	if _, err := c.Open(ctx, newRunID(), "docker"); err == nil || !contains(err.Error(), `driver "docker"`) {
		t.Errorf("a driver the agent does not run: %v", err)
	}
	if _, err := a.Launch(ctx, spec(t, "127.0.2.10")); err == nil || !contains(err.Error(), "not in this agent's subnet 127.0.1.0/24") {
		t.Errorf("an address outside the agent's subnet: %v", err)
	}
	again, err := c.Open(ctx, a.RunID(), "process")
	if err != nil {
		t.Fatalf("reopening the open run (a controller reconnecting): %v", err)
	}
	again.stopRenewing()
	again.cancel()
	again.wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := again.List(ctx); !errors.Is(err, ErrRunNotOpen) {
		t.Errorf("List of a closed run: %v, want ErrRunNotOpen", err)
	}
	if _, err := a.List(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("List on a closed Remote: %v, want ErrClosed", err)
	}
	b, err := c.Open(ctx, newRunID(), "process")
	if err != nil {
		t.Fatalf("a new run once the first is closed: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// Open passes the agents' cluster to join to the agent's Joiner, and the
// run's end leaves it; an agent without a Joiner refuses such an Open.
func TestOpenJoinsTheControllersClusterAndTheEndLeavesIt(t *testing.T) {
	var mu sync.Mutex
	var got []JoinSpec
	left := 0
	join := func(_ context.Context, j JoinSpec) (func() error, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, j)
		return func() error { mu.Lock(); left++; mu.Unlock(); return nil }, nil
	}
	tok := token(t)
	s, addr := serve(t, Config{Token: tok, NewRuntime: processFactory, Logger: quiet, Join: join})
	want := JoinSpec{Name: "us-east-1b", Controller: "127.0.0.1:7451", Key: []byte("0123456789abcdef0123456789abcdef"), Label: "l", Timing: []byte(`{"ProbeInterval":1000000000}`)}
	r, err := DialOpen(context.Background(), addr, tok, OpenOptions{Run: newRunID(), Driver: "process", Join: &want})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Name != want.Name || got[0].Controller != want.Controller || string(got[0].Key) != string(want.Key) ||
		got[0].Label != want.Label || string(got[0].Timing) != string(want.Timing) {
		t.Errorf("the joiner got %+v, want %+v", got, want)
	}
	mu.Unlock()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if left != 1 {
		t.Errorf("the run's end left the cluster %d times, want 1", left)
	}
	mu.Unlock()
	if s.Info().Run != "" {
		t.Errorf("run %s still open after Close", s.Info().Run)
	}

	s2, addr2 := serve(t, Config{Token: tok, NewRuntime: processFactory, Logger: quiet})
	if _, err := DialOpen(context.Background(), addr2, tok, OpenOptions{Run: newRunID(), Driver: "process", Join: &want}); err == nil || !contains(err.Error(), "cannot join") {
		t.Errorf("an Open that asks to join an agent without a joiner: %v", err)
	}
	if s2.Info().Run != "" {
		t.Errorf("a refused Open left run %s open", s2.Info().Run)
	}
}

// What lab drives a remote zone through (lab's remoteZone), which Remote
// must satisfy.
var _ interface {
	az.Runtime
	az.Hogger
	az.CPUAccounter
	Cut(ctx context.Context, d time.Duration) (restore func() error, err error)
} = (*Remote)(nil)

// An instance's output stays on the agent's host; Output brings its end
// back, so that the controller can say why a program exited on its own.
func TestOutputOverTheWire(t *testing.T) {
	r, _ := remote(t, Config{})
	s := spec(t, "127.0.1.72")
	s.Command = []string{"/bin/sh", "-c", "echo starting; echo 'flag provided but not defined: -no-such-flag'; exit 2"}
	if _, err := r.Launch(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("exited: %s, want %s", id, s.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the instance did not exit within 30 s")
	}
	out, err := r.Output(context.Background(), s.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "starting") || !strings.Contains(out, "flag provided but not defined: -no-such-flag") {
		t.Errorf("output %q, want the instance's two lines", out)
	}
	if _, err := r.Output(context.Background(), s.ID, 0); err == nil {
		t.Error("lines=0: no error")
	}
}
