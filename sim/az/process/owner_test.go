package process

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/simplydone/lab/internal/sockowner"
)

// The instance's own listener is its own; a listener another process (here
// the test) binds on the instance's address is not, and is named.
func TestOwnsListenerRefusesAForeignListener(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.10", nil)
	launch(t, r, s)
	waitServing(t, s)
	own := netip.AddrPortFrom(s.Addr, uint16(s.Port))
	if err := r.OwnsListener(bg, s.ID, own); err != nil {
		t.Fatalf("the instance's own listener: %v", err)
	}

	foreign, err := net.Listen("tcp", netip.AddrPortFrom(s.Addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	at := netip.MustParseAddrPort(foreign.Addr().String())
	err = r.OwnsListener(bg, s.ID, at)
	var fe *sockowner.ForeignError
	if !errors.As(err, &fe) || fe.PID != os.Getpid() {
		t.Fatalf("a listener the test holds on the instance's address: %v; want foreign, pid %d", err, os.Getpid())
	}
	t.Log(err)

	// Once the instance is stopped, even its old address answered by
	// someone else is foreign.
	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.OwnsListener(bg, s.ID, at); !errors.As(err, &fe) {
		t.Errorf("stopped instance: %v, want foreign", err)
	}
	if err := r.OwnsListener(bg, s.ID, own); err != nil {
		t.Errorf("stopped instance, nothing listening: %v, want nil (the probe sees the refusal)", err)
	}
}
