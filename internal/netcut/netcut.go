package netcut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Cutter cuts this host's links; one cut at a time.
type Cutter struct {
	links  []string       // names to cut; none: every link that is up but loopback
	ns     netns.NsHandle // the namespace acted on; netns.None(): the process's own
	record string         // the record file, or ""

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

// WithRecord has each cut write what it took down to the file path before
// setting any link down, and the restore remove it: a process that dies
// while its cut is on leaves the file, and the next one (the agent, as it
// starts again) puts the host back with Recover. It returns c.
func (c *Cutter) WithRecord(path string) *Cutter {
	c.record = path
	return c
}

func (c *Cutter) handle() (*netlink.Handle, error) {
	if c.ns.IsOpen() {
		return netlink.NewHandleAt(c.ns)
	}
	return netlink.NewHandle()
}

// Snapshot is what a cut took down, to put back: the links by name, their
// permanent addresses and the routes through them. It is what the record
// file holds (JSON).
type Snapshot struct {
	PID    int      `json:"pid"` // the process that cut
	Links  []string `json:"links"`
	Addrs  []Addr   `json:"addrs,omitempty"`
	Routes []Route  `json:"routes,omitempty"`
}

// Addr is a permanent address of a cut link.
type Addr struct {
	Link      string `json:"link"`
	CIDR      string `json:"cidr"`
	Peer      string `json:"peer,omitempty"`
	Broadcast string `json:"broadcast,omitempty"`
	Label     string `json:"label,omitempty"`
	Flags     int    `json:"flags,omitempty"`
	Scope     int    `json:"scope,omitempty"`
}

// Route is a route through a cut link (the kernel drops it with the link).
type Route struct {
	Family    int       `json:"family"`
	Link      string    `json:"link,omitempty"`
	Dst       string    `json:"dst,omitempty"` // "": the default route
	Src       string    `json:"src,omitempty"`
	Gw        string    `json:"gw,omitempty"`
	Table     int       `json:"table"`
	Protocol  int       `json:"protocol,omitempty"`
	Scope     int       `json:"scope,omitempty"`
	Type      int       `json:"type,omitempty"`
	Priority  int       `json:"priority,omitempty"`
	Tos       int       `json:"tos,omitempty"`
	OnLink    bool      `json:"onlink,omitempty"`
	MTU       int       `json:"mtu,omitempty"`
	AdvMSS    int       `json:"advmss,omitempty"`
	Hoplimit  int       `json:"hoplimit,omitempty"`
	MultiPath []Nexthop `json:"multipath,omitempty"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Link   string `json:"link"`
	Gw     string `json:"gw,omitempty"`
	Hops   int    `json:"hops,omitempty"`
	OnLink bool   `json:"onlink,omitempty"`
}

// Cut sets the links down and returns the restore, which sets them up again
// and re-adds the addresses and routes the kernel dropped. The restore may
// be called more than once (after the first, it returns the first's
// result). A second Cut before the restore is refused: the first's record
// would be lost. So is a cut whose routes the restore could not put back
// (MPLS, encapsulation): nothing is set down then.
func (c *Cutter) Cut(ctx context.Context) (restore func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("network cut: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return nil, errors.New("network cut: this host's links are cut already")
	}
	if c.record != "" {
		if _, err := os.Stat(c.record); err == nil {
			return nil, fmt.Errorf("network cut: record %s exists: a cut not yet put back (Recover first)", c.record)
		}
	}
	h, err := c.handle()
	if err != nil {
		return nil, fmt.Errorf("network cut: netlink: %w", err)
	}
	snap, err := c.snapshot(h)
	if err != nil {
		h.Close()
		return nil, err
	}
	if c.record != "" {
		if err := writeRecord(c.record, snap); err != nil {
			h.Close()
			return nil, err
		}
	}
	for i, name := range snap.Links {
		l, err := h.LinkByName(name)
		if err == nil {
			err = h.LinkSetDown(l)
		}
		if err != nil {
			done := *snap
			done.Links = snap.Links[:i]
			rerr := put(h, &done)
			if rerr == nil && c.record != "" {
				rerr = removeRecord(c.record)
			}
			h.Close()
			return nil, errors.Join(fmt.Errorf("network cut: set %s down: %w", name, err), rerr)
		}
	}
	c.cut = true
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() {
			rerr = put(h, snap)
			if rerr == nil && c.record != "" {
				rerr = removeRecord(c.record) // kept when the restore failed: Recover tries again
			}
			h.Close()
			c.mu.Lock()
			c.cut = false
			c.mu.Unlock()
		})
		return rerr
	}, nil
}

// Recover puts back a cut whose process died before its restore, from the
// record file (WithRecord), and removes the file; it says whether there was
// one. Call it before the first Cut of a process (an agent starting); while
// this Cutter's own cut is on, it is refused.
func (c *Cutter) Recover() (bool, error) {
	if c.record == "" {
		return false, errors.New("network recover: no record file set (WithRecord)")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return false, errors.New("network recover: this Cutter's own cut is on; its restore puts the host back")
	}
	b, err := os.ReadFile(c.record)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("network recover: %w", err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return false, fmt.Errorf("network recover: %s: %w", c.record, err)
	}
	h, err := c.handle()
	if err != nil {
		return false, fmt.Errorf("network recover: netlink: %w", err)
	}
	defer h.Close()
	if err := put(h, &snap); err != nil {
		return true, fmt.Errorf("network recover from %s (cut by pid %d): %w", c.record, snap.PID, err)
	}
	return true, removeRecord(c.record)
}

func writeRecord(path string, snap *Snapshot) error {
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return fmt.Errorf("network cut: record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("network cut: record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("network cut: record: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func removeRecord(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network restore: remove record: %w", err)
	}
	return nil
}

// snapshot finds the links to cut and what goes with them.
func (c *Cutter) snapshot(h *netlink.Handle) (*Snapshot, error) {
	all, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("network cut: list links: %w", err)
	}
	names := map[int]string{}
	for _, l := range all {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	snap := &Snapshot{PID: os.Getpid()}
	var cut []netlink.Link
	if len(c.links) > 0 {
		for _, name := range c.links {
			i := slices.IndexFunc(all, func(l netlink.Link) bool { return l.Attrs().Name == name })
			if i < 0 {
				return nil, fmt.Errorf("network cut: no link named %q on this host", name)
			}
			cut = append(cut, all[i])
		}
	} else {
		for _, l := range all {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback == 0 && a.Flags&net.FlagUp != 0 {
				cut = append(cut, l)
			}
		}
	}
	if len(cut) == 0 {
		return nil, errors.New("network cut: this host has no link up but the loopback")
	}
	idx := map[int]bool{}
	for _, l := range cut {
		name := l.Attrs().Name
		snap.Links = append(snap.Links, name)
		idx[l.Attrs().Index] = true
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("network cut: addresses of %s: %w", name, err)
		}
		for _, a := range addrs {
			if a.Flags&unix.IFA_F_PERMANENT == 0 {
				continue // made by the kernel (SLAAC, link-local): it makes them again
			}
			ra := Addr{Link: name, CIDR: a.IPNet.String(), Label: a.Label, Scope: a.Scope,
				Flags: a.Flags &^ (unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED | unix.IFA_F_DEPRECATED)}
			if a.Peer != nil {
				ra.Peer = a.Peer.String()
			}
			if a.Broadcast != nil {
				ra.Broadcast = a.Broadcast.String()
			}
			snap.Addrs = append(snap.Addrs, ra)
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
		if !through {
			continue
		}
		if r.Encap != nil || r.MPLSDst != nil || r.NewDst != nil || r.Via != nil {
			return nil, fmt.Errorf("network cut: route %s uses MPLS, encapsulation or a via of another family, which the restore cannot put back; name the links to cut", r)
		}
		rr := Route{Family: r.Family, Link: names[r.LinkIndex], Table: r.Table, Protocol: int(r.Protocol), Scope: int(r.Scope),
			Type: r.Type, Priority: r.Priority, Tos: r.Tos, OnLink: r.Flags&unix.RTNH_F_ONLINK != 0, MTU: r.MTU, AdvMSS: r.AdvMSS, Hoplimit: r.Hoplimit}
		if r.Dst != nil {
			rr.Dst = r.Dst.String()
		}
		if r.Src != nil {
			rr.Src = r.Src.String()
		}
		if r.Gw != nil {
			rr.Gw = r.Gw.String()
		}
		for _, nh := range r.MultiPath {
			if nh.Encap != nil || nh.NewDst != nil || nh.Via != nil {
				return nil, fmt.Errorf("network cut: route %s uses MPLS, encapsulation or a via of another family, which the restore cannot put back; name the links to cut", r)
			}
			n := Nexthop{Link: names[nh.LinkIndex], Hops: nh.Hops, OnLink: nh.Flags&unix.RTNH_F_ONLINK != 0}
			if nh.Gw != nil {
				n.Gw = nh.Gw.String()
			}
			rr.MultiPath = append(rr.MultiPath, n)
		}
		snap.Routes = append(snap.Routes, rr)
	}
	return snap, nil
}

// put sets the links up and re-adds the missing addresses and routes.
func put(h *netlink.Handle, snap *Snapshot) error {
	var errs []error
	links := map[string]netlink.Link{}
	link := func(name string) (netlink.Link, error) {
		if l, ok := links[name]; ok {
			return l, nil
		}
		return h.LinkByName(name) // a link the cut left alone (a multipath route's other path)
	}
	for _, name := range snap.Links {
		l, err := h.LinkByName(name)
		if err == nil {
			err = h.LinkSetUp(l)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("network restore: set %s up: %w", name, err))
			continue
		}
		links[name] = l
	}
	for _, a := range snap.Addrs {
		l, ok := links[a.Link]
		if !ok {
			continue
		}
		addr, err := a.netlink()
		if err == nil {
			err = h.AddrAdd(l, addr)
		}
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, fmt.Errorf("network restore: address %s on %s: %w", a.CIDR, a.Link, err))
		}
	}
	// Routes: a gateway route needs the route to its gateway first; add in
	// passes until one makes no progress.
	left := slices.Clone(snap.Routes)
	for len(left) > 0 {
		var again []Route
		var last []error
		for _, r := range left {
			nr, err := r.netlink(link)
			if err == nil {
				err = h.RouteAdd(nr)
			}
			if err != nil && !errors.Is(err, syscall.EEXIST) {
				again = append(again, r)
				last = append(last, fmt.Errorf("network restore: route to %q via %q dev %s table %d: %w", r.Dst, r.Gw, r.Link, r.Table, err))
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

func (a Addr) netlink() (*netlink.Addr, error) {
	ip, ipn, err := net.ParseCIDR(a.CIDR)
	if err != nil {
		return nil, err
	}
	ipn.IP = ip
	out := &netlink.Addr{IPNet: ipn, Label: a.Label, Flags: a.Flags, Scope: a.Scope}
	if a.Peer != "" {
		pip, pn, err := net.ParseCIDR(a.Peer)
		if err != nil {
			return nil, err
		}
		pn.IP = pip
		out.Peer = pn
	}
	if a.Broadcast != "" {
		out.Broadcast = net.ParseIP(a.Broadcast)
	}
	return out, nil
}

func (r Route) netlink(link func(string) (netlink.Link, error)) (*netlink.Route, error) {
	out := &netlink.Route{Family: r.Family, Table: r.Table, Protocol: netlink.RouteProtocol(r.Protocol), Scope: netlink.Scope(r.Scope),
		Type: r.Type, Priority: r.Priority, Tos: r.Tos, MTU: r.MTU, AdvMSS: r.AdvMSS, Hoplimit: r.Hoplimit}
	if r.OnLink {
		out.Flags = unix.RTNH_F_ONLINK
	}
	if r.Link != "" {
		l, err := link(r.Link)
		if err != nil {
			return nil, err
		}
		out.LinkIndex = l.Attrs().Index
	}
	if r.Dst != "" {
		_, dst, err := net.ParseCIDR(r.Dst)
		if err != nil {
			return nil, err
		}
		out.Dst = dst
	}
	if r.Src != "" {
		out.Src = net.ParseIP(r.Src)
	}
	if r.Gw != "" {
		out.Gw = net.ParseIP(r.Gw)
	}
	for _, nh := range r.MultiPath {
		l, err := link(nh.Link)
		if err != nil {
			return nil, err
		}
		n := &netlink.NexthopInfo{LinkIndex: l.Attrs().Index, Hops: nh.Hops}
		if nh.OnLink {
			n.Flags = unix.RTNH_F_ONLINK
		}
		if nh.Gw != "" {
			n.Gw = net.ParseIP(nh.Gw)
		}
		out.MultiPath = append(out.MultiPath, n)
	}
	return out, nil
}
