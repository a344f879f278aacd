package netcut

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/netns"
	vnetns "github.com/vishvananda/netns"
)

// listen listens on addr inside host and accepts until t ends.
func listen(t *testing.T, topo *netns.Topology, host, addr string) {
	t.Helper()
	ln, err := topo.Listen(host, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func dial(topo *netns.Topology, host, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := topo.Dial(ctx, host, "tcp", addr)
	if err == nil {
		c.Close()
	}
	return err
}

func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// host is zone 1 of a one-zone topology, dressed as a real host: beside
// its connected route, a gateway route, a route in another table, an IPv6
// address and a route through it (all of which a link set down loses).
type host struct {
	topo   *netns.Topology
	ns     string
	handle vnetns.NsHandle
	routes func() string // every route but the IPv6 link-local's
	v6     func() string // the IPv6 address and the route through it
}

func newHost(t *testing.T) *host {
	t.Helper()
	if why := netns.Available(); why != "" {
		t.Skip(why)
	}
	if _, err := netns.Sweep("labtcut"); err != nil {
		t.Fatal(err)
	}
	topo, err := netns.New("labtcut", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	z1 := topo.NS(netns.Zone(1))
	for _, c := range [][]string{
		{"-n", z1, "route", "add", "10.99.0.0/16", "via", "169.254.0.1"},
		{"-n", z1, "route", "add", "10.98.0.0/16", "dev", "eth0", "table", "100"},
		{"-n", z1, "addr", "add", "fd00:5::1/64", "dev", "eth0", "nodad"},
		{"-n", z1, "route", "add", "fd00:6::/64", "via", "fd00:5::2"},
	} {
		ipOut(t, c...)
	}
	zh, err := vnetns.GetFromName(z1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zh.Close() })
	h := &host{topo: topo, ns: z1, handle: zh}
	// Every route but those of the IPv6 link-local address, which the
	// kernel makes on its own once that address passes its duplicate
	// address detection (timing of its own, before as after).
	h.routes = func() string {
		var keep []string
		for _, l := range strings.Split(ipOut(t, "-n", z1, "route", "show", "table", "all"), "\n") {
			if !strings.Contains(l, "fe80:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	h.v6 = func() string {
		return ipOut(t, "-n", z1, "-6", "addr", "show", "dev", "eth0", "scope", "global") + ipOut(t, "-n", z1, "-6", "route", "show", "fd00:6::/64")
	}
	if v6 := h.v6(); !strings.Contains(v6, "fd00:5::1") || !strings.Contains(v6, "fd00:6::/64") {
		t.Fatalf("setup: %s", v6)
	}
	return h
}

// TestCutDropsTheHostAndRestorePutsItBack cuts a zone host of a namespace
// topology: while cut, the host and the controller cannot reach each other
// (timeouts: packets dropped) while the host still reaches its own zone
// subnet; the restore puts the links, addresses and routes back as they
// were (the kernel dropped the routes through the link and its IPv6
// address), and the controller reaches the host again.
func TestCutDropsTheHostAndRestorePutsItBack(t *testing.T) {
	h := newHost(t)
	topo, z1, zh := h.topo, h.ns, h.handle
	routes, v6 := h.routes, h.v6
	beforeRoutes, beforeV6 := routes(), v6()

	listen(t, topo, netns.Zone(1), "169.254.1.250:7450")
	listen(t, topo, netns.Zone(1), "169.254.1.17:8080")
	listen(t, topo, netns.Ctl, "169.254.0.1:7000")
	if err := dial(topo, netns.Ctl, "169.254.1.250:7450", 2*time.Second); err != nil {
		t.Fatal("before the cut:", err)
	}

	rec := filepath.Join(t.TempDir(), "cut.json")
	cutter := In(zh).WithRecord(rec)
	restore, err := cutter.Cut(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(rec); err != nil || !strings.Contains(string(b), `"eth0"`) || !strings.Contains(string(b), `"10.99.0.0/16"`) {
		t.Errorf("the record during the cut: %v\n%s", err, b)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			restore()
		}
	})
	if link := ipOut(t, "-n", z1, "-o", "link", "show", "eth0"); !strings.Contains(link, "state DOWN") {
		t.Errorf("eth0 after the cut: %s", link)
	}
	if link := ipOut(t, "-n", z1, "-o", "link", "show", "lo"); !strings.Contains(link, "UP") {
		t.Errorf("lo after the cut: %s", link)
	}
	if err := dial(topo, netns.Ctl, "169.254.1.250:7450", 300*time.Millisecond); err == nil {
		t.Error("the controller reached the cut host")
	} else if !strings.Contains(err.Error(), "timeout") {
		t.Errorf("the controller to the cut host: want a timeout (packets dropped), got %v", err)
	}
	if err := dial(topo, netns.Zone(1), "169.254.0.1:7000", 300*time.Millisecond); err == nil {
		t.Error("the cut host reached the controller")
	}
	if err := dial(topo, netns.Zone(1), "169.254.1.17:8080", 2*time.Second); err != nil {
		t.Error("the cut host lost its own zone subnet:", err)
	}
	if _, err := cutter.Cut(context.Background()); err == nil {
		t.Error("a second cut before the restore: no error")
	}

	if err := restore(); err != nil {
		t.Fatal(err)
	}
	restored = true
	if err := restore(); err != nil {
		t.Fatal("second restore:", err)
	}
	if _, err := os.Stat(rec); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record is left after the restore: %v", err)
	}
	if got := routes(); got != beforeRoutes {
		t.Errorf("routes after the restore differ.\nbefore:\n%s\nafter:\n%s", beforeRoutes, got)
	}
	if got := v6(); got != beforeV6 {
		t.Errorf("IPv6 after the restore differs.\nbefore:\n%s\nafter:\n%s", beforeV6, got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := dial(topo, netns.Ctl, "169.254.1.250:7450", time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the host is not reachable 10 s after the restore:", err)
		}
	}
	// Cut again after the restore: allowed.
	r2, err := cutter.Cut(context.Background())
	if err != nil {
		t.Fatal("a cut after the restore:", err)
	}
	if err := r2(); err != nil {
		t.Fatal(err)
	}
}

func TestCutRefusesAnUnknownLinkAndADoneContext(t *testing.T) {
	h := newHost(t)
	if _, err := In(h.handle, "wlan7").Cut(context.Background()); err == nil || !strings.Contains(err.Error(), `"wlan7"`) {
		t.Errorf("cut of a missing link: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := In(h.handle).Cut(ctx); err == nil {
		t.Error("cut with a done context: no error")
	}
	if link := ipOut(t, "-n", h.ns, "-o", "link", "show", "eth0"); strings.Contains(link, "state DOWN") {
		t.Errorf("a refused cut set eth0 down: %s", link)
	}
}

// TestRecoverPutsBackTheCutOfADeadProcess: a process inside the host cuts
// its own links with a record file (as an agent does: New, the process's
// own namespace) and dies without restoring; the next Cut with that record
// is refused, and Recover puts the links, addresses and routes back as they
// were and removes the record; a second Recover finds nothing.
func TestRecoverPutsBackTheCutOfADeadProcess(t *testing.T) {
	h := newHost(t)
	beforeRoutes, beforeV6 := h.routes(), h.v6()
	rec := filepath.Join(t.TempDir(), "cut.json")
	cmd := h.topo.Exec(netns.Zone(1), os.Args[0])
	cmd.Env = append(os.Environ(), "NETCUT_CRASH="+rec)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "cut\n" {
		t.Fatalf("the cutting process: %v: %s", err, out)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			In(h.handle).WithRecord(rec).Recover()
		}
	})
	if link := ipOut(t, "-n", h.ns, "-o", "link", "show", "eth0"); !strings.Contains(link, "state DOWN") {
		t.Fatalf("eth0 after the dead process's cut: %s", link)
	}
	if h.routes() == beforeRoutes {
		t.Fatal("the cut dropped no route: the test shows nothing")
	}
	if _, err := In(h.handle).WithRecord(rec).Cut(context.Background()); err == nil || !strings.Contains(err.Error(), "Recover") {
		t.Errorf("a cut over a dead one's record: %v, want a refusal saying to Recover", err)
	}
	ok, err := In(h.handle).WithRecord(rec).Recover()
	if err != nil || !ok {
		t.Fatalf("Recover: %v, %v", ok, err)
	}
	restored = true
	if got := h.routes(); got != beforeRoutes {
		t.Errorf("routes after Recover differ.\nbefore:\n%s\nafter:\n%s", beforeRoutes, got)
	}
	if got := h.v6(); got != beforeV6 {
		t.Errorf("IPv6 after Recover differs.\nbefore:\n%s\nafter:\n%s", beforeV6, got)
	}
	if _, err := os.Stat(rec); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the record is left after Recover: %v", err)
	}
	if ok, err := In(h.handle).WithRecord(rec).Recover(); ok || err != nil {
		t.Errorf("a second Recover: %v, %v; want false, nil", ok, err)
	}
}

// The test binary is also the process that cuts and dies: NETCUT_CRASH=file
// cuts its namespace's links with that record, says "cut" and exits.
func TestMain(m *testing.M) {
	if rec := os.Getenv("NETCUT_CRASH"); rec != "" {
		if _, err := New().WithRecord(rec).Cut(context.Background()); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		fmt.Println("cut")
		os.Exit(0)
	}
	os.Exit(m.Run())
}
