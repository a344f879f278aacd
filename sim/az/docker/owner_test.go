package docker

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/simplydone/lab/internal/sockowner"
)

// The container's own listener is its own; a listener another process (the
// test) binds on the container's address is not.
func TestOwnsListenerRefusesAForeignListener(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, simplydoneBin, "127.0.1.62", nil)
	launch(t, r, s)
	waitServing(t, s)
	if err := r.OwnsListener(bg, s.ID, netip.AddrPortFrom(s.Addr, uint16(s.Port))); err != nil {
		t.Fatalf("the container's own listener: %v", err)
	}
	foreign, err := net.Listen("tcp", netip.AddrPortFrom(s.Addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	err = r.OwnsListener(bg, s.ID, netip.MustParseAddrPort(foreign.Addr().String()))
	var fe *sockowner.ForeignError
	if !errors.As(err, &fe) || fe.PID != os.Getpid() {
		t.Fatalf("a listener the test holds on the container's address: %v; want foreign, pid %d", err, os.Getpid())
	}
}
