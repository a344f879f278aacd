package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/simplydone/lab/sim/az"
)

// allocateFree is the zone's next instance address whose port nobody holds,
// as EC2 never hands out a private address in use. An address whose port
// is already bound (by another lab with its own state directory and
// listener port, or any other program) is skipped: a node health-checking
// it would find that program and send it traffic as if it were this run's
// instance. The address:port is held by the returned listener until the
// instance starts (release it just before), so that a lab allocating at
// the same time skips it too. ln is nil when port is 0 or the address
// cannot be probed (the instance's own bind then tells).
func (f *fleet) allocateFree(zone az.Zone, port int) (addr netip.Addr, ln net.Listener, err error) {
	var busy []netip.Addr
	defer func() {
		for _, a := range busy {
			f.l.addrs.Release(a)
		}
	}()
	for {
		addr, err := f.l.addrs.Allocate(zone)
		if err != nil {
			if len(busy) > 0 {
				var names []string
				for _, a := range busy {
					names = append(names, netip.AddrPortFrom(a, uint16(port)).String())
				}
				err = fmt.Errorf("%w; %d address(es) skipped because another program listens there: %s", err, len(busy), strings.Join(names, ", "))
			}
			return netip.Addr{}, nil, err
		}
		if port <= 0 {
			return addr, nil, nil
		}
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(port)).String())
		switch {
		case err == nil:
			return addr, ln, nil
		case errors.Is(err, syscall.EADDRINUSE):
			busy = append(busy, addr) // held in the table until the next one is found
		default:
			return addr, nil, nil
		}
	}
}

// unhold closes the listener that holds a pending instance's address, if any.
func (f *fleet) unhold(id az.InstanceID) {
	f.mu.Lock()
	ln := f.held[id]
	delete(f.held, id)
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// unholdAll closes the listeners of instances still pending when the lab closes.
func (f *fleet) unholdAll() {
	f.mu.Lock()
	held := f.held
	f.held = map[az.InstanceID]net.Listener{}
	f.mu.Unlock()
	for _, ln := range held {
		ln.Close()
	}
}
