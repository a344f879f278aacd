package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
)

// The test binaries, built static in TestMain: the real SimplyDone and the
// spin workload (testdata/spin).
var simplydoneBin, spinBin string

// engineErr is why no engine answers; tests skip on it unless
// LAB_REQUIRE_DOCKER=1, in which case TestMain fails.
var engineErr error

var bg = context.Background()

func TestMain(m *testing.M) {
	if os.Getenv(childLabEnv) != "" {
		childLab() // never returns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	api, err := Available(ctx)
	cancel()
	if err != nil {
		engineErr = err
		if os.Getenv("LAB_REQUIRE_DOCKER") == "1" {
			fmt.Fprintln(os.Stderr, "LAB_REQUIRE_DOCKER=1 but no Docker engine answers:", err)
			fmt.Fprintln(os.Stderr, "start one with sim/az/docker/testdata/start-dockerd.sh")
			os.Exit(1)
		}
		os.Exit(m.Run()) // every test skips, saying why
	}
	fmt.Fprintln(os.Stderr, "docker tests: engine answers, API", api)
	dir, err := os.MkdirTemp("", "lab-docker-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	simplydoneBin = filepath.Join(dir, "simplydone")
	spinBin = filepath.Join(dir, "spin")
	for bin, pkg := range map[string]string{simplydoneBin: "github.com/simplydone/lab/cmd/simplydone", spinBin: "../process/testdata/spin"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needEngine skips the test when no engine answers.
func needEngine(t testing.TB) {
	t.Helper()
	if engineErr != nil {
		t.Skipf("no Docker engine answers (set LAB_REQUIRE_DOCKER=1 to fail instead; start one with testdata/start-dockerd.sh): %v", engineErr)
	}
}

var runSeq atomic.Int64

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newRuntime returns a runtime with its own run id, closed when the test
// ends; the test fails if any container of the run is left after Close.
func newRuntime(t testing.TB, mods ...func(*Options)) *Runtime {
	t.Helper()
	needEngine(t)
	logDir := t.TempDir()
	opts := Options{
		RunID:  fmt.Sprintf("test-%d-%d", os.Getpid(), runSeq.Add(1)),
		Logger: quiet(),
		Grace:  2 * time.Second,
		LogDir: logDir,
	}
	for _, m := range mods {
		m(&opts)
	}
	r, err := New(bg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			list, _ := r.List(bg)
			for _, l := range list {
				if in := r.entry(l.ID); in != nil {
					r.saveLogs(bg, in)
				}
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if n := countRun(t, opts.RunID); n != 0 {
			t.Errorf("%d containers of run %s left after Close", n, opts.RunID)
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), b)
			}
		}
	})
	return r
}

// countRun counts the engine's containers labelled with the run.
func countRun(t testing.TB, runID string) int {
	t.Helper()
	cli, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(bg, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

var idSeq atomic.Int64

// spec is an instance of bin on addr and a free port there.
func spec(t testing.TB, bin, addr string, env map[string]string) az.Spec {
	t.Helper()
	a := netip.MustParseAddr(addr)
	zi := int(a.As4()[2])
	return az.Spec{
		ID:      az.InstanceID(fmt.Sprintf("i-%017x", idSeq.Add(1)+int64(os.Getpid())<<20)),
		Zone:    az.Zone{Name: fmt.Sprintf("us-east-1%c", 'a'+zi-1), Index: zi, Subnet: netip.PrefixFrom(a, 24).Masked()},
		Addr:    a,
		Port:    freePort(t, a),
		Type:    az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128},
		Command: []string{bin},
		Env:     env,
		DataDir: t.TempDir(),
	}
}

func freePort(t testing.TB, a netip.Addr) int {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func launch(t testing.TB, r *Runtime, s az.Spec) az.Instance {
	t.Helper()
	in, err := r.Launch(bg, s)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func waitServing(t testing.TB, s az.Spec) { aztest.WaitServing(t, s, 30*time.Second) }

// measure waits out a measurement window of wall time: the quantity under
// test (CPU used over a window), not a wait for a condition.
func measure(d time.Duration) { <-time.After(d) }

// mustClient is a client for the test's own checks, closed when it ends.
func mustClient(t testing.TB) *client.Client {
	t.Helper()
	cli, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// entry is the runtime's own record of an instance (nil if unknown).
func (r *Runtime) entry(id az.InstanceID) *instance {
	r.t.Lock()
	defer r.t.Unlock()
	in, _ := r.t.Lookup(id)
	return in
}
