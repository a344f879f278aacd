package runns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The test binary is also the programs the tests start in a namespace:
// RUNNS_LISTEN=addr listens there and says "ready"; RUNNS_PROBE=addr tries
// to connect and exits 0 when it could, 3 when it could not.
func TestMain(m *testing.M) {
	if a := os.Getenv("RUNNS_LISTEN"); a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(2)
		}
		fmt.Println("ready")
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(0)
			}
			c.Write([]byte("inside\n"))
			c.Close()
		}
	}
	if a := os.Getenv("RUNNS_PROBE"); a != "" {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			fmt.Println("probe:", err)
			os.Exit(3)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
}

func create(t *testing.T, run string) *NS {
	t.Helper()
	ns, err := Create(run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Remove() })
	return ns
}

// start runs the test binary with env inside ns.
func start(t *testing.T, ns *NS, env string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = []string{env}
	if err := ns.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// An instance in the run's namespace listens on its zone address there;
// the lab reaches it through a socket made in the namespace, and the host's
// own network does not see it.
func TestInstanceListensInsideAndIsReachedByDial(t *testing.T) {
	needRoot(t)
	ns := create(t, fmt.Sprintf("runns-test-%d", os.Getpid()))
	if fi, err := os.Lstat(filepath.Join(Dir, ns.Name())); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the namespace's file: %v, %v", fi, err)
	}
	addr := fmt.Sprintf("127.0.1.10:%d", freePort(t))
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = []string{"RUNNS_LISTEN=" + addr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("the listener inside said %q", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ns.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s in the namespace: %v", addr, err)
	}
	got, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if got != "inside\n" {
		t.Errorf("the connection in the namespace read %q", got)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s answered on the host's network; want it only inside the namespace", addr)
	}
}

// A probe started in the namespace cannot connect to a listener on the
// host's 127.0.0.1 (nor on the host's other addresses: nothing routes out).
func TestInsideCannotReachTheHostsLoopback(t *testing.T) {
	needRoot(t)
	ns := create(t, fmt.Sprintf("runns-probe-%d", os.Getpid()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	// The same probe from the host connects: the listener is there.
	host := exec.Command(mustSelf(t))
	host.Env = []string{"RUNNS_PROBE=" + ln.Addr().String()}
	if err := host.Run(); err != nil {
		t.Fatalf("the probe on the host could not connect to %s: %v", ln.Addr(), err)
	}
	<-accepted
	cmd := start(t, ns, "RUNNS_PROBE="+ln.Addr().String())
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the probe inside the namespace: %v; want exit 3 (could not connect)", err)
	}
	select {
	case <-accepted:
		t.Error("the host's listener accepted a connection from inside the namespace")
	default:
	}
}

func mustSelf(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Remove deletes the namespace's name; twice is no error; Create refuses a
// name that exists; Delete refuses a name that is not the lab's.
func TestRemoveAndNames(t *testing.T) {
	needRoot(t)
	run := fmt.Sprintf("runns-rm-%d", os.Getpid())
	ns := create(t, run)
	if _, err := Create(run); err == nil {
		t.Error("a second Create of the same run succeeded")
	}
	if err := ns.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(Dir, Name(run))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the namespace's file is left: %v", err)
	}
	if err := Delete("someone-elses"); err == nil {
		t.Error("Delete of a name that is not the lab's succeeded")
	}
	if id, ok := RunOf(Name(run)); !ok || id != run {
		t.Errorf("RunOf(%q) = %q, %v", Name(run), id, ok)
	}
}

// Dial takes only an IP literal (a name's fallback socket would be made
// outside the namespace), and a removed namespace is never entered.
func TestDialWantsAnAddressAndALiveHandle(t *testing.T) {
	ns := &NS{name: "lab-test", h: netns.None()}
	if _, err := ns.Dial(context.Background(), "tcp", "localhost:80"); err == nil || !strings.Contains(err.Error(), "want an IP address") {
		t.Errorf("Dial of a name = %v, want a refusal", err)
	}
	if _, err := ns.Dial(context.Background(), "tcp", "127.0.1.10:80"); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("Dial through a removed namespace = %v, want a refusal", err)
	}
}
