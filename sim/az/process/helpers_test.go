package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/sim/az"
)

// spinBin is the test workload (testdata/spin), built once in TestMain.
var spinBin string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ShimArg { // this binary as the shim (shim_test.go)
		os.Exit(Shim(os.Args[2:]))
	}
	if os.Getenv(childLabEnv) != "" {
		childLab() // never returns
	}
	dir, err := os.MkdirTemp("", "lab-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	spinBin = filepath.Join(dir, "spin")
	build := exec.Command("go", "build", "-o", spinBin, "./testdata/spin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build spin:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var runSeq atomic.Int64

// newRuntime returns a runtime with its own run id and state dir, closed
// when the test ends.
func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	logDir := t.TempDir()
	r, err := New(Options{
		RunID:    fmt.Sprintf("test-%d-%d", os.Getpid(), runSeq.Add(1)),
		StateDir: t.TempDir(),
		LogDir:   logDir,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Grace:    2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
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

var idSeq atomic.Int64

// spec is a spin instance on addr and a free port there.
func spec(t *testing.T, addr string, env map[string]string) az.Spec {
	t.Helper()
	a := netip.MustParseAddr(addr)
	return az.Spec{
		ID:      az.InstanceID(fmt.Sprintf("i-%017x", idSeq.Add(1)+int64(os.Getpid())<<20)),
		Zone:    az.Zone{Name: "us-east-1a", Index: 1, Subnet: netip.MustParsePrefix("127.0.1.0/24")},
		Addr:    a,
		Port:    freePort(t, a),
		Type:    az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128},
		Command: []string{spinBin},
		Env:     env,
		DataDir: t.TempDir(),
	}
}

func freePort(t *testing.T, a netip.Addr) int {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func url(s az.Spec) string {
	return "http://" + netip.AddrPortFrom(s.Addr, uint16(s.Port)).String() + "/"
}

// get makes one request with a timeout and returns the body of a 200.
func get(u string, timeout time.Duration) (string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(b)), err
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitServing waits until the instance answers 200 with its id.
func waitServing(t *testing.T, s az.Spec) {
	t.Helper()
	eventually(t, 10*time.Second, "instance "+string(s.ID)+" serving", func() bool {
		body, err := get(url(s), time.Second)
		return err == nil && body == string(s.ID)
	})
}

func alive(pid int) bool { return !osproc.Zombie(pid) }

func pidOf(t *testing.T, r *Runtime, id az.InstanceID) int {
	t.Helper()
	list, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == id {
			return in.PID
		}
	}
	t.Fatalf("instance %s not listed", id)
	return 0
}

func stateOf(t *testing.T, r *Runtime, id az.InstanceID) az.State {
	t.Helper()
	list, _ := r.List(context.Background())
	for _, in := range list {
		if in.ID == id {
			return in.State
		}
	}
	return az.StateTerminated
}

func launch(t *testing.T, r *Runtime, s az.Spec) az.Instance {
	t.Helper()
	in, err := r.Launch(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func itoa(n int) string { return strconv.Itoa(n) }

// entry is the runtime's own record of an instance (nil if unknown).
func (r *Runtime) entry(id az.InstanceID) *instance {
	r.t.Lock()
	defer r.t.Unlock()
	in, _ := r.t.Lookup(id)
	return in
}
