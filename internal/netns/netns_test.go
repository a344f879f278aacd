package netns

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
)

// The test binary is also the programs the tests start inside hosts:
// NETNS_LISTEN=addr listens there, says "ready" and answers "hello" to each
// connection; NETNS_PROBE=addr connects (within NETNS_PROBE_TIMEOUT, 2 s by
// default), reads the answer and exits 0, or 3 when it could not;
// NETNS_CRASH=prefix makes a topology of one zone, starts a listener in its
// zone, prints the namespaces and exits without closing anything, as a test
// killed mid-way would.
func TestMain(m *testing.M) {
	if a := os.Getenv("NETNS_LISTEN"); a != "" {
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
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}
	if a := os.Getenv("NETNS_PROBE"); a != "" {
		timeout := 2 * time.Second
		if s := os.Getenv("NETNS_PROBE_TIMEOUT"); s != "" {
			timeout, _ = time.ParseDuration(s)
		}
		c, err := net.DialTimeout("tcp", a, timeout)
		if err != nil {
			fmt.Println("probe:", err)
			os.Exit(3)
		}
		c.SetDeadline(time.Now().Add(timeout))
		b, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || b != "hello\n" {
			fmt.Printf("probe: read %q: %v\n", b, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	if p := os.Getenv("NETNS_CRASH"); p != "" {
		topo, err := New(p, 1)
		if err != nil {
			fmt.Println("crash:", err)
			os.Exit(2)
		}
		l := topo.Exec(Zone(1), os.Args[0])
		l.Env = append(os.Environ(), "NETNS_CRASH=", "NETNS_LISTEN="+topo.Addr(1).String()+":7450")
		out, _ := l.StdoutPipe()
		if err := l.Start(); err != nil {
			fmt.Println("crash:", err)
			os.Exit(2)
		}
		if s, _ := bufio.NewReader(out).ReadString('\n'); s != "ready\n" {
			fmt.Println("crash: listener said", s)
			os.Exit(2)
		}
		fmt.Println(strings.Join([]string{topo.NS(Ctl), topo.NS(Zone(1))}, " "), l.Process.Pid)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func need(t *testing.T) {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
}

// topology makes a topology for t, after sweeping the dead ones of its
// family, and closes it at the end of t.
func topology(t *testing.T, family string, zones int) *Topology {
	t.Helper()
	need(t)
	if _, err := Sweep(family); err != nil {
		t.Fatal(err)
	}
	topo, err := New(family, zones)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	return topo
}

// listen starts a listener on addr inside host, ends it with t.
func listen(t *testing.T, topo *Topology, host, addr string) {
	t.Helper()
	cmd := topo.Exec(host, os.Args[0])
	cmd.Env = append(os.Environ(), "NETNS_LISTEN="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("listener on %s in %s: %q", addr, host, line)
	}
}

// probe connects from host to addr; nil when it connected and got the
// listener's answer.
func probe(topo *Topology, host, addr string, timeout time.Duration) error {
	cmd := topo.Exec(host, os.Args[0])
	cmd.Env = append(os.Environ(), "NETNS_PROBE="+addr, "NETNS_PROBE_TIMEOUT="+timeout.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("from %s to %s: %v: %s", host, addr, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// TestHostsReachEachOtherOnLinkLocalAddresses: the controller reaches a zone
// host's .250 and any other address of its subnet (AnyIP), zone hosts reach
// each other and the controller, and the root namespace has none of it.
func TestHostsReachEachOtherOnLinkLocalAddresses(t *testing.T) {
	topo := topology(t, "labt", 2)
	listen(t, topo, Zone(1), "169.254.1.250:7450")
	listen(t, topo, Zone(1), "169.254.1.17:8080") // an instance's address: AnyIP
	listen(t, topo, Zone(2), "169.254.2.250:7450")
	listen(t, topo, Ctl, "169.254.0.1:7000")
	for _, c := range []struct{ from, to string }{
		{Ctl, "169.254.1.250:7450"},
		{Ctl, "169.254.1.17:8080"},
		{Ctl, "169.254.2.250:7450"},
		{Zone(1), "169.254.2.250:7450"},
		{Zone(2), "169.254.1.17:8080"},
		{Zone(1), "169.254.0.1:7000"},
	} {
		if err := probe(topo, c.from, c.to, 2*time.Second); err != nil {
			t.Error(err)
		}
	}
	// Nothing of it in the root namespace: no link-local address, no link.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.To4()[0] == 169 && ipn.IP.To4()[1] == 254 {
			t.Errorf("the root namespace has %s", a)
		}
	}
	// (No connection is tried from the root namespace: its default route
	// would carry link-local packets off this machine.)
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 && (strings.HasPrefix(f[1], "vz1") || strings.HasPrefix(f[1], "vz2")) {
			t.Errorf("a topology link in the root namespace: %s", l)
		}
	}
}

// TestCutLinkDropsThePathAndRestoreBringsItBack: while zone 1's link is cut,
// a connection from the controller to it times out (packets dropped, not
// refused) while zone 2 stays reachable; after the restore the connection
// is made again.
func TestCutLinkDropsThePathAndRestoreBringsItBack(t *testing.T) {
	topo := topology(t, "labt", 2)
	listen(t, topo, Zone(1), "169.254.1.250:7450")
	listen(t, topo, Zone(2), "169.254.2.250:7450")
	if err := probe(topo, Ctl, "169.254.1.250:7450", 2*time.Second); err != nil {
		t.Fatal("before the cut:", err)
	}
	restore, err := topo.CutLink(1)
	if err != nil {
		t.Fatal(err)
	}
	err = probe(topo, Ctl, "169.254.1.250:7450", 500*time.Millisecond)
	if err == nil {
		t.Error("the controller reached zone 1 through the cut")
	} else if !strings.Contains(err.Error(), "timeout") {
		t.Errorf("the cut should drop packets (a timeout), got: %v", err)
	}
	if err := probe(topo, Zone(2), "169.254.1.250:7450", 500*time.Millisecond); err == nil {
		t.Error("zone 2 reached zone 1 through the cut")
	}
	if err := probe(topo, Ctl, "169.254.2.250:7450", 2*time.Second); err != nil {
		t.Error("zone 2 during zone 1's cut:", err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal("second restore:", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := probe(topo, Ctl, "169.254.1.250:7450", time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("zone 1 not reachable 10 s after the restore:", err)
		}
	}
	if _, err := topo.CutLink(3); err == nil {
		t.Error("CutLink(3) on a 2-zone topology: no error")
	}
}

// TestCloseLeavesNothing: Close kills what still runs inside, removes every
// namespace and the lock, and a second Close is no error.
func TestCloseLeavesNothing(t *testing.T) {
	need(t)
	if _, err := Sweep("labt"); err != nil {
		t.Fatal(err)
	}
	topo, err := New("labt", 2)
	if err != nil {
		t.Fatal(err)
	}
	// A process left running inside (as a test that forgot to stop it).
	cmd := topo.Exec(Zone(2), os.Args[0])
	cmd.Env = append(os.Environ(), "NETNS_LISTEN=169.254.2.33:80")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
		t.Fatalf("listener: %q", l)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	names := []string{}
	for _, h := range topo.Hosts() {
		names = append(names, topo.NS(h))
	}
	if err := topo.Close(); err != nil {
		t.Fatal(err)
	}
	if err := topo.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the process inside zone 2 outlived Close")
	}
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(list), n) {
			t.Errorf("namespace %s left after Close:\n%s", n, list)
		}
	}
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 && (strings.HasPrefix(f[1], "vz") || strings.Contains(l, topo.ID())) {
			t.Errorf("link left in the root namespace: %s", l)
		}
	}
	if _, err := os.Lstat(filepath.Join(LockDir, "labt-"+topo.ID()+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock left: %v", err)
	}
}

// TestSweepRemovesACrashedTopologyOnly: a topology whose process died (with
// a listener still running inside) is removed by Sweep, listener included;
// a live topology of the same family is left alone.
func TestSweepRemovesACrashedTopologyOnly(t *testing.T) {
	live := topology(t, "labtsweep", 1)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NETNS_CRASH=labtsweep")
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("crashing helper: %v: %s", err, outb)
	}
	var ctl, z1 string
	var pid int
	if _, err := fmt.Sscan(string(outb), &ctl, &z1, &pid); err != nil {
		t.Fatalf("crashing helper said %q: %v", outb, err)
	}
	t.Cleanup(func() { remove(ctl); remove(z1) }) // if Sweep failed
	if pids, err := Pids(z1); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Fatalf("the crashed topology's listener: pids %v, %v; want [%d]", pids, err, pid)
	}
	removed, err := Sweep("labtsweep")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, " ") != ctl+" "+z1 && strings.Join(removed, " ") != z1+" "+ctl {
		t.Errorf("Sweep removed %v, want %s and %s", removed, ctl, z1)
	}
	for _, n := range []string{ctl, z1} {
		if _, err := os.Lstat(filepath.Join(Dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after Sweep", n)
		}
	}
	// Its parent (the crashed helper) is gone, so init reaps it: its
	// /proc entry goes, or is at most a zombie.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
		t.Errorf("the crashed topology's listener (pid %d) outlived Sweep: %s", pid, st)
	}
	for _, h := range live.Hosts() {
		if _, err := os.Lstat(live.Path(h)); err != nil {
			t.Errorf("Sweep touched the live topology: %s: %v", live.NS(h), err)
		}
	}
	// The live one still works.
	listen(t, live, Zone(1), "169.254.1.250:7450")
	if err := probe(live, Ctl, "169.254.1.250:7450", 2*time.Second); err != nil {
		t.Error(err)
	}
}

func TestNewRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		prefix string
		zones  int
	}{{"", 1}, {"Lab", 1}, {"lab-x", 1}, {"labt", 0}, {"labt", MaxZones + 1}} {
		if _, err := New(c.prefix, c.zones); err == nil {
			t.Errorf("New(%q, %d): no error", c.prefix, c.zones)
		}
	}
}

// TestDialAndListenInsideHosts: a listener made in zone 1 by Listen and a
// connection made in the controller by Dial meet over the bridge; Dial from
// zone 1 to the controller's address of a listener in zone 2 fails (nothing
// there), and a name is refused.
func TestDialAndListenInsideHosts(t *testing.T) {
	topo := topology(t, "labt", 2)
	ln, err := topo.Listen(Zone(1), "tcp", "169.254.1.99:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := topo.Dial(ctx, Ctl, "tcp", "169.254.1.99:9000")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || b != "hello\n" {
		t.Fatalf("read %q: %v", b, err)
	}
	// The listener is in zone 1 only: the root namespace has no such
	// address, so listening on it here fails.
	if l, err := net.Listen("tcp", "169.254.1.99:9001"); err == nil {
		l.Close()
		t.Error("the root namespace could listen on a zone address")
	}
	if _, err := topo.Dial(ctx, Ctl, "tcp", "localhost:9000"); err == nil {
		t.Error("Dial of a name: no error")
	}
}

// TestExecKeepsTheHostsMounts: a program started by Exec is in the host's
// network namespace (it sees eth0 with the zone's address) and in the
// root's mount namespace (the same /sys/fs/cgroup as the test, which `ip
// netns exec` would have hidden).
func TestExecKeepsTheHostsMounts(t *testing.T) {
	topo := topology(t, "labt", 1)
	out, err := topo.Exec(Zone(1), "ip", "-o", "-4", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "169.254.1.250/16") {
		t.Errorf("ip addr inside zone 1: %v: %s", err, out)
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	out, err = topo.Exec(Zone(1), "readlink", "/proc/self/ns/mnt").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != self {
		t.Errorf("mount namespace inside zone 1: %q (%v), want the test's %q", out, err, self)
	}
}
