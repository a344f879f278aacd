package sockowner

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

// The host's listeners through sock_diag are those /proc/net/tcp lists:
// the same inodes for a listener at an exact address, at the wildcard
// address, and none for a port nobody listens on.
func TestDiagListenersMatchProcNet(t *testing.T) {
	exact, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer exact.Close()
	wild, err := net.Listen("tcp", ":0") // the wildcard, dual-stack where IPv6 is on
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := netip.MustParseAddrPort(free.Addr().String())
	free.Close()

	listing := func(scan func(func(netip.AddrPort, uint64)) error) map[netip.AddrPort][]uint64 {
		t.Helper()
		got := map[netip.AddrPort][]uint64{}
		if err := scan(func(a netip.AddrPort, ino uint64) { got[a] = append(got[a], ino) }); err != nil {
			t.Fatal(err)
		}
		for _, v := range got {
			slices.Sort(v)
		}
		return got
	}
	diag, proc := listing(diagListeners), listing(Host.scanNet)
	for _, l := range []net.Listener{exact, wild} {
		port := uint16(l.Addr().(*net.TCPAddr).Port)
		var d, p []uint64
		for a, v := range diag {
			if a.Port() == port {
				d = append(d, v...)
			}
		}
		for a, v := range proc {
			if a.Port() == port {
				p = append(p, v...)
			}
		}
		if len(d) == 0 || !slices.Equal(d, p) {
			t.Errorf("listener %s: sock_diag inodes %v, /proc/net/tcp %v", l.Addr(), d, p)
		}
	}

	// Listening (the check's own view) agrees with the file scan.
	for _, addr := range []netip.AddrPort{
		netip.MustParseAddrPort(exact.Addr().String()),
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), uint16(wild.Addr().(*net.TCPAddr).Port)),
		freeAddr,
	} {
		got, err := Host.Listening(addr)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		var ex, wi []uint64
		for a, v := range proc {
			switch {
			case a.Port() != addr.Port():
			case a.Addr().Unmap() == addr.Addr():
				ex = append(ex, v...)
			case a.Addr().IsUnspecified():
				wi = append(wi, v...)
			}
		}
		if want = wi; len(ex) > 0 {
			want = ex
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Listening(%s) = %v, /proc/net/tcp says %v", addr, got, want)
		}
	}
	if got, _ := Host.Listening(freeAddr); len(got) != 0 {
		t.Errorf("Listening(%s), where nothing listens: %v", freeAddr, got)
	}
}
