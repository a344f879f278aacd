package az

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync"
)

// Zone is an Availability Zone and its private subnet on loopback.
type Zone struct {
	Name   string       // us-east-1a
	Index  int          // 1-based position in the stack; zone N owns 127.0.N.0/24
	Subnet netip.Prefix // 127.0.N.0/24
	// Node is the address of the zone's load-balancer node; zero: .1 of
	// Subnet. A zone whose instances run on another host (an agent's, whose
	// subnet Subnet is then) keeps its node on this host's loopback,
	// 127.0.N.1, where the controller serves it.
	Node netip.Addr
}

// MaxZones is how many zones the address plan has room for.
const MaxZones = 250

// NewZones builds the zones of a stack in order, each with its subnet.
func NewZones(names []string) ([]Zone, error) {
	if len(names) == 0 || len(names) > MaxZones {
		return nil, fmt.Errorf("zones: %d given; allowed 1 to %d", len(names), MaxZones)
	}
	zs := make([]Zone, len(names))
	for i, n := range names {
		idx := i + 1
		zs[i] = Zone{Name: n, Index: idx, Subnet: LoopbackSubnet(idx)}
	}
	return zs, nil
}

// LoopbackSubnet is zone index's subnet on this host in the address plan:
// 127.0.index.0/24.
func LoopbackSubnet(index int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, byte(index), 0}), 24)
}

// NodeAddr is the address of the zone's load-balancer node: Node, else .1
// of the subnet.
func (z Zone) NodeAddr() netip.Addr {
	if z.Node.IsValid() {
		return z.Node
	}
	return z.host(1)
}

// OnHost is z with its instances' subnet on another host (an agent's): its
// load-balancer node stays where it was, on this host.
func (z Zone) OnHost(subnet netip.Prefix) Zone {
	z.Node = z.NodeAddr()
	z.Subnet = subnet
	return z
}

// Elsewhere is z with its instances' subnet and its load-balancer node on
// another host (an agent's): the node at .1 of that subnet.
func (z Zone) Elsewhere(subnet netip.Prefix) Zone {
	z.Node = netip.Addr{}
	z.Subnet = subnet
	return z
}

func (z Zone) host(n byte) netip.Addr {
	a := z.Subnet.Addr().As4()
	a[3] = n
	return netip.AddrFrom4(a)
}

// First and last host numbers handed to instances; .1 is the load-balancer
// node, .2-.9 are kept for the lab's own use, as AWS keeps the first four;
// .200-.249 are the data tier's (sim/rds), .250-.254 the lab's helpers'.
const (
	firstInstanceHost = 10
	lastInstanceHost  = 199
)

// Addresses hands out instance addresses in each zone, as a subnet's DHCP
// would, and takes them back when an instance terminates. Safe for concurrent use.
type Addresses struct {
	mu    sync.Mutex
	inUse map[netip.Addr]bool
}

// NewAddresses returns an empty allocation table.
func NewAddresses() *Addresses { return &Addresses{inUse: map[netip.Addr]bool{}} }

// Allocate returns the lowest free instance address in z.
func (a *Addresses) Allocate(z Zone) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h := firstInstanceHost; h <= lastInstanceHost; h++ {
		addr := z.host(byte(h))
		if !a.inUse[addr] {
			a.inUse[addr] = true
			return addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("zone %s: subnet %s has no free address", z.Name, z.Subnet)
}

// Release gives an address back.
func (a *Addresses) Release(addr netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.inUse, addr)
}

// InstanceID is an EC2 instance id: "i-" and 17 hexadecimal digits.
type InstanceID string

// NewInstanceID draws an id from r (inject the run's seeded source).
func NewInstanceID(r io.Reader) (InstanceID, error) {
	var b [9]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("draw instance id: %w", err)
	}
	return InstanceID(fmt.Sprintf("i-%x", b)[:19]), nil
}

// InstanceType maps an EC2 instance type to the lab's scale: a CPU share (in
// cores of this machine) and a memory size. A laptop cannot give every
// instance AWS's vCPUs, so the lab scales them down, keeping the ratios.
type InstanceType struct {
	Name      string
	CPU       float64 // cores of this machine
	MemoryMiB int
}

var instanceTypes = map[string]InstanceType{
	"t3.nano":   {"t3.nano", 0.125, 64},
	"t3.micro":  {"t3.micro", 0.25, 128},
	"t3.small":  {"t3.small", 0.25, 256},
	"t3.medium": {"t3.medium", 0.5, 512},
	"t3.large":  {"t3.large", 0.5, 1024},
	"c5.large":  {"c5.large", 0.5, 512},
	"c5.xlarge": {"c5.xlarge", 1, 1024},
	"m5.large":  {"m5.large", 0.5, 1024},
	"m5.xlarge": {"m5.xlarge", 1, 2048},
}

// LookupInstanceType returns the lab's mapping for an EC2 type name.
func LookupInstanceType(name string) (InstanceType, bool) {
	t, ok := instanceTypes[name]
	return t, ok
}

// InstanceTypeNames lists the known types, sorted, for error messages.
func InstanceTypeNames() []string {
	names := make([]string, 0, len(instanceTypes))
	for n := range instanceTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
