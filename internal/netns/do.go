package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	vnetns "github.com/vishvananda/netns"
)

// Do runs fn on an OS thread switched into host's namespace: a socket fn
// makes is the host's (and stays usable from any goroutine afterwards). The
// thread is put back into the namespace it came from; one that cannot be is
// never used again (it stays locked and ends with its goroutine).
func (t *Topology) Do(host string, fn func() error) error {
	h, err := vnetns.GetFromPath(t.Path(host))
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", t.NS(host), err)
	}
	defer h.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: this thread's namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := vnetns.Set(h); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: enter %s: %w", t.NS(host), err)
			return
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns: leave %s: %w", t.NS(host), err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Dial connects from host to address (an IP literal and port: a name
// resolving to several addresses would have Go's dialer race a fallback on
// another thread, outside the namespace).
func (t *Topology) Dial(ctx context.Context, host, network, address string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("netns: dial %s from %s: want an IP address and port: %w", address, host, err)
	}
	var c net.Conn
	err := t.Do(host, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Listen listens on address inside host; the listener is then used from
// anywhere.
func (t *Topology) Listen(host, network, address string) (net.Listener, error) {
	var ln net.Listener
	err := t.Do(host, func() error {
		var err error
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}
