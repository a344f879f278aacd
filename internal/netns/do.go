package netns

import (
	"context"
	"fmt"
	"net"

	"github.com/simplydone/lab/internal/runns"
)

// Do runs fn on an OS thread switched into host's namespace (runns.NS.Do):
// a socket fn makes is the host's (and stays usable from any goroutine
// afterwards); the thread is put back into the namespace it came from.
func (t *Topology) Do(host string, fn func() error) error {
	ns, err := runns.At(t.Path(host), t.NS(host))
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer ns.Close()
	return ns.Do(fn)
}

// Dial connects from host to address, an IP literal and port
// (runns.NS.Dial says why).
func (t *Topology) Dial(ctx context.Context, host, network, address string) (net.Conn, error) {
	ns, err := runns.At(t.Path(host), t.NS(host))
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	defer ns.Close()
	return ns.Dial(ctx, network, address)
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
