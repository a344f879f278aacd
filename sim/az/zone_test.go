package az

import (
	"bytes"
	"crypto/rand"
	"net/netip"
	"regexp"
	"testing"
)

func TestNewZonesSubnets(t *testing.T) {
	zs, err := NewZones([]string{"us-east-1a", "us-east-1b", "us-east-1c"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		name, subnet, node string
	}{
		{"us-east-1a", "127.0.1.0/24", "127.0.1.1"},
		{"us-east-1b", "127.0.2.0/24", "127.0.2.1"},
		{"us-east-1c", "127.0.3.0/24", "127.0.3.1"},
	} {
		z := zs[i]
		if z.Name != want.name || z.Index != i+1 || z.Subnet.String() != want.subnet || z.NodeAddr().String() != want.node {
			t.Errorf("zone %d = %+v node %s; want %+v", i, z, z.NodeAddr(), want)
		}
	}
}

func TestNewZonesBounds(t *testing.T) {
	for _, n := range []int{0, MaxZones + 1} {
		if _, err := NewZones(make([]string, n)); err == nil {
			t.Errorf("NewZones(%d names) succeeded", n)
		}
	}
	zs, err := NewZones(make([]string, MaxZones))
	if err != nil {
		t.Fatal(err)
	}
	if got := zs[MaxZones-1].Subnet.String(); got != "127.0.250.0/24" {
		t.Errorf("last subnet = %s", got)
	}
}

func TestAddressesAllocateReleaseExhaust(t *testing.T) {
	zs, _ := NewZones([]string{"a", "b"})
	a := NewAddresses()
	first, err := a.Allocate(zs[0])
	if err != nil || first != netip.MustParseAddr("127.0.1.10") {
		t.Fatalf("first = %v, %v", first, err)
	}
	second, _ := a.Allocate(zs[0])
	if second != netip.MustParseAddr("127.0.1.11") {
		t.Fatalf("second = %v", second)
	}
	if b, _ := a.Allocate(zs[1]); b != netip.MustParseAddr("127.0.2.10") {
		t.Fatalf("zone b first = %v", b)
	}
	a.Release(first)
	if again, _ := a.Allocate(zs[0]); again != first {
		t.Fatalf("after release got %v, want the lowest free %v", again, first)
	}
	n := 2
	for ; ; n++ {
		addr, err := a.Allocate(zs[0])
		if err != nil {
			break
		}
		if !zs[0].Subnet.Contains(addr) || addr == zs[0].NodeAddr() {
			t.Fatalf("allocated %v outside the instance range", addr)
		}
	}
	if n != 190 { // .10 to .199: .200 and up are the data tier's
		t.Errorf("zone held %d addresses, want 190", n)
	}
	a.Release(netip.MustParseAddr("127.0.1.150"))
	if addr, err := a.Allocate(zs[0]); err != nil || addr != netip.MustParseAddr("127.0.1.150") {
		t.Errorf("after exhaustion and release: %v, %v", addr, err)
	}
}

func TestNewInstanceIDShape(t *testing.T) {
	shape := regexp.MustCompile(`^i-[0-9a-f]{17}$`)
	seen := map[InstanceID]bool{}
	for range 100 {
		id, err := NewInstanceID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(string(id)) {
			t.Fatalf("id %q does not look like an EC2 instance id", id)
		}
		seen[id] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct ids from 100 draws", len(seen))
	}
	fixed := bytes.Repeat([]byte{0xab}, 9)
	id1, _ := NewInstanceID(bytes.NewReader(fixed))
	id2, _ := NewInstanceID(bytes.NewReader(fixed))
	if id1 != id2 || id1 != "i-ababababababababa" {
		t.Errorf("seeded ids = %q, %q", id1, id2)
	}
	if _, err := NewInstanceID(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("short reader gave an id")
	}
}

func TestLookupInstanceType(t *testing.T) {
	if it, ok := LookupInstanceType("t3.micro"); !ok || it.CPU != 0.25 || it.MemoryMiB != 128 {
		t.Errorf("t3.micro = %+v, %v", it, ok)
	}
	if _, ok := LookupInstanceType("x9.huge"); ok {
		t.Error("unknown type found")
	}
	names := InstanceTypeNames()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("names not sorted: %v", names)
		}
	}
}

// TestZoneOnAnotherHost: a zone whose instances run on an agent's host takes
// the agent's subnet for its instances and keeps its load-balancer node on
// this host's loopback; a zone on this host is unchanged.
func TestZoneOnAnotherHost(t *testing.T) {
	zs, err := NewZones([]string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	remote := zs[1].OnHost(netip.MustParsePrefix("169.254.1.0/24"))
	if got := remote.NodeAddr().String(); got != "127.0.2.1" {
		t.Errorf("remote zone's node at %s, want 127.0.2.1 (the controller's loopback)", got)
	}
	if remote.Subnet.String() != "169.254.1.0/24" || remote.Name != "us-east-1b" || remote.Index != 2 {
		t.Errorf("remote zone = %+v", remote)
	}
	a := NewAddresses()
	for _, want := range []string{"169.254.1.10", "169.254.1.11"} {
		addr, err := a.Allocate(remote)
		if err != nil || addr.String() != want {
			t.Errorf("Allocate in the remote zone = %s, %v; want %s (the agent's subnet)", addr, err, want)
		}
	}
	if addr, _ := a.Allocate(zs[0]); addr.String() != "127.0.1.10" || zs[0].NodeAddr().String() != "127.0.1.1" || zs[0].Node.IsValid() {
		t.Errorf("the local zone changed: first instance %s, node %s (Node %v)", addr, zs[0].NodeAddr(), zs[0].Node)
	}
	// An explicit Node wins over the subnet's .1.
	z := Zone{Name: "x", Index: 3, Subnet: netip.MustParsePrefix("10.1.2.0/24"), Node: netip.MustParseAddr("127.0.3.1")}
	if z.NodeAddr().String() != "127.0.3.1" {
		t.Errorf("NodeAddr = %s, want 127.0.3.1", z.NodeAddr())
	}
}
