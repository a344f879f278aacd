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
