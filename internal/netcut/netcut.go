package netcut

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Cutter cuts this host's links; one cut at a time.
type Cutter struct {
	links []string       // names to cut; none: every link that is up but loopback
	ns    netns.NsHandle // the namespace acted on; netns.None(): the process's own

	mu  sync.Mutex
	cut bool
}

// New is a Cutter of this host's links named links, or of every link that
// is up but the loopback when none is named.
func New(links ...string) *Cutter {
	return &Cutter{links: slices.Clone(links), ns: netns.None()}
}

// In is a Cutter acting on the network namespace ns instead of the
// process's own (a test's, or a host namespace a supervisor holds). The
// caller keeps ns open while the Cutter is used.
func In(ns netns.NsHandle, links ...string) *Cutter {
	c := New(links...)
	c.ns = ns
	return c
}

func (c *Cutter) handle() (*netlink.Handle, error) {
	if c.ns.IsOpen() {
		return netlink.NewHandleAt(c.ns)
	}
	return netlink.NewHandle()
}

// state is what a cut took down, to put back.
type state struct {
	links  []netlink.Link
	addrs  map[int][]netlink.Addr // by link index: the permanent addresses
	routes []netlink.Route
}

// Cut sets the links down and returns the restore, which sets them up again
// and re-adds the addresses and routes the kernel dropped. The restore may
// be called more than once (after the first, it returns the first's
// result). A second Cut before the restore is refused: the first's record
// would be lost.
func (c *Cutter) Cut(ctx context.Context) (restore func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("network cut: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return nil, errors.New("network cut: this host's links are cut already")
	}
	h, err := c.handle()
	if err != nil {
		return nil, fmt.Errorf("network cut: netlink: %w", err)
	}
	st, err := c.record(h)
	if err != nil {
		h.Close()
		return nil, err
	}
	for i, l := range st.links {
		if err := h.LinkSetDown(l); err != nil {
			up := &state{links: st.links[:i], addrs: st.addrs, routes: st.routes}
			rerr := put(h, up)
			h.Close()
			return nil, errors.Join(fmt.Errorf("network cut: set %s down: %w", l.Attrs().Name, err), rerr)
		}
	}
	c.cut = true
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() {
			rerr = put(h, st)
			h.Close()
			c.mu.Lock()
			c.cut = false
			c.mu.Unlock()
		})
		return rerr
	}, nil
}

// record finds the links to cut and what goes with them.
func (c *Cutter) record(h *netlink.Handle) (*state, error) {
	all, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("network cut: list links: %w", err)
	}
	st := &state{addrs: map[int][]netlink.Addr{}}
	if len(c.links) > 0 {
		for _, name := range c.links {
			i := slices.IndexFunc(all, func(l netlink.Link) bool { return l.Attrs().Name == name })
			if i < 0 {
				return nil, fmt.Errorf("network cut: no link named %q on this host", name)
			}
			st.links = append(st.links, all[i])
		}
	} else {
		for _, l := range all {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback == 0 && a.Flags&net.FlagUp != 0 {
				st.links = append(st.links, l)
			}
		}
	}
	if len(st.links) == 0 {
		return nil, errors.New("network cut: this host has no link up but the loopback")
	}
	idx := map[int]bool{}
	for _, l := range st.links {
		idx[l.Attrs().Index] = true
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("network cut: addresses of %s: %w", l.Attrs().Name, err)
		}
		for _, a := range addrs {
			if a.Flags&unix.IFA_F_PERMANENT != 0 {
				st.addrs[l.Attrs().Index] = append(st.addrs[l.Attrs().Index], a)
			}
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("network cut: list routes: %w", err)
	}
	for _, r := range routes {
		if r.Table == unix.RT_TABLE_LOCAL || r.Protocol == unix.RTPROT_KERNEL || r.Protocol == unix.RTPROT_RA {
			continue // the kernel makes these again from the addresses and the link
		}
		through := idx[r.LinkIndex]
		for _, nh := range r.MultiPath {
			through = through || idx[nh.LinkIndex]
		}
		if through {
			st.routes = append(st.routes, r)
		}
	}
	return st, nil
}

// put sets the links up and re-adds the missing addresses and routes.
func put(h *netlink.Handle, st *state) error {
	var errs []error
	for _, l := range st.links {
		if err := h.LinkSetUp(l); err != nil {
			errs = append(errs, fmt.Errorf("network restore: set %s up: %w", l.Attrs().Name, err))
		}
	}
	for _, l := range st.links {
		for _, a := range st.addrs[l.Attrs().Index] {
			a := a
			a.Flags &^= unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED
			if err := h.AddrAdd(l, &a); err != nil && !errors.Is(err, syscall.EEXIST) {
				errs = append(errs, fmt.Errorf("network restore: address %s on %s: %w", a.IPNet, l.Attrs().Name, err))
			}
		}
	}
	// Routes: a gateway route needs the route to its gateway first; add in
	// passes until one makes no progress.
	left := slices.Clone(st.routes)
	for len(left) > 0 {
		var again []netlink.Route
		var last []error
		for _, r := range left {
			r := r
			r.Flags &= unix.RTNH_F_ONLINK // drop linkdown/dead, the state at the time of the record
			if err := h.RouteAdd(&r); err != nil && !errors.Is(err, syscall.EEXIST) {
				again = append(again, r)
				last = append(last, fmt.Errorf("network restore: route %s: %w", r, err))
			}
		}
		if len(again) == len(left) {
			errs = append(errs, last...)
			break
		}
		left = again
	}
	return errors.Join(errs...)
}
