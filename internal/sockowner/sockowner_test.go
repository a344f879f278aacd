package sockowner

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestParseAddr(t *testing.T) {
	cases := map[string]string{
		"0A01007F:1F90":                         "127.0.1.10:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"0000000000000000FFFF00000A01007F:1F90": "[::ffff:127.0.1.10]:8080",
		"00000000000000000000000001000000:0016": "[::1]:22",
	}
	for in, want := range cases {
		got, ok := parseAddr(in)
		if !ok || got.String() != want {
			t.Errorf("parseAddr(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0A01007F", "0A01007F:XYZ", "0A0100:1F90", "zz01007F:1F90"} {
		if _, ok := parseAddr(bad); ok {
			t.Errorf("parseAddr(%q) accepted", bad)
		}
	}
}

// A real listener of this process: held by its own pid, foreign to any other.
func TestCheckRealListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.1.77:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.1.77: %v", err)
	}
	defer ln.Close()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	if err := Host.Check(addr, []int{os.Getpid()}); err != nil {
		t.Errorf("Check(own pid) = %v, want nil", err)
	}
	err = Host.Check(addr, []int{1 << 22}) // a pid that holds nothing
	var fe *ForeignError
	if !errors.As(err, &fe) || fe.PID != os.Getpid() || fe.Addr != addr {
		t.Fatalf("Check(another pid) = %v, want foreign, held by pid %d", err, os.Getpid())
	}
	t.Log(err)
	free := netip.AddrPortFrom(addr.Addr(), addr.Port()+1)
	if err := Host.Check(free, nil); err != nil {
		t.Errorf("nothing listens on %s: Check = %v, want nil", free, err)
	}
}

// A wildcard listener counts when nothing is bound to the address itself.
func TestListeningWildcard(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n" +
		"   1: 0A01007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n" +
		"   2: 0A01007F:1F91 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n"
	if err := os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(tcp), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Proc(root)
	got, err := p.Listening(netip.MustParseAddrPort("127.0.1.10:8080"))
	if err != nil || len(got) != 1 || got[0] != 111 {
		t.Errorf("wildcard on 8080: %v, %v; want [111]", got, err)
	}
	got, err = p.Listening(netip.MustParseAddrPort("127.0.1.10:8081"))
	if err != nil || len(got) != 1 || got[0] != 222 {
		t.Errorf("exact on 8081 (and an established connection): %v, %v; want [222]", got, err)
	}
	// a listener nobody in this fake /proc holds: foreign, holder unknown
	var fe *ForeignError
	if err := p.Check(netip.MustParseAddrPort("127.0.1.10:8081"), []int{42}); !errors.As(err, &fe) || fe.PID != 0 {
		t.Errorf("Check = %v, want foreign with no pid", err)
	}
}

// A holder is named by its argv[0]'s base name, not its comm: a program
// run through a descriptor has comm "3".
func TestHolderNamedByItsCommandLine(t *testing.T) {
	root := t.TempDir()
	for pid, files := range map[string][2]string{
		"41": {"/opt/shop/bin/serve\x00--port\x008080\x00", "3\n"},
		"42": {"", "kworker/0:1\n"}, // no command line: comm
	} {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, pid, "cmdline"), []byte(files[0]), 0o644)
		os.WriteFile(filepath.Join(root, pid, "comm"), []byte(files[1]), 0o644)
	}
	p := Proc(root)
	if got := p.name(41); got != "serve" {
		t.Errorf("name(41) = %q, want serve (argv[0]'s base name)", got)
	}
	if got := p.name(42); got != "kworker/0:1" {
		t.Errorf("name(42) = %q, want its comm", got)
	}
}
