package az

import (
	"fmt"
	"sort"
	"strings"
)

// DBInstanceClass is an RDS DB instance class: AWS's vCPUs and memory, and
// the lab's scale of them, as InstanceType scales EC2's: a CPU share in
// cores of this machine (a quarter core per vCPU, the burstable classes'
// small sizes held to their EC2 twins' share) and the class's full memory
// as the limit. Memory is not scaled as an EC2 instance's is: every
// connection is a real PostgreSQL backend of a few MiB that no scale
// shrinks, and max_connections is RDS's figure for the full memory. At an
// eighth (128 MiB for a db.t3.micro), the flash sale's six instances' 60
// connections (3.5 MiB each, measured) ran the server's cgroup out of
// memory and the kernel killed its backends and postmaster mid-run.
// Source: RDS's hardware specifications for DB instance classes,
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html
type DBInstanceClass struct {
	Name      string
	VCPU      int     // AWS's vCPUs
	MemoryGiB int     // AWS's memory
	CPU       float64 // the lab's share, in cores of this machine
	MemoryMiB int     // the lab's memory limit: the class's memory
	// Cluster reports whether a Multi-AZ DB cluster may use the class:
	// the classes with local NVMe storage RDS lists for those clusters
	// (db.m5d, db.m6gd, db.r5d, db.r6gd).
	// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-clusters-concepts.html
	Cluster bool
}

// MaxConnections is RDS for PostgreSQL's default max_connections for the
// class: LEAST({DBInstanceClassMemory/9531392}, 5000). AWS's
// DBInstanceClassMemory is the class's memory less what the OS and RDS's
// own processes keep; the lab takes the class's nominal memory, so its
// figure is a little above a real instance's (112 for db.t3.micro, where
// RDS shows about 80).
func (c DBInstanceClass) MaxConnections() int {
	return min(int((int64(c.MemoryGiB)<<30)/9531392), 5000)
}

// ReservedConnections is PostgreSQL's superuser_reserved_connections, 3,
// RDS's default too: slots only a superuser may take (RDS's rdsadmin; the
// lab's own monitor and checks). An application's role gets the rest.
const ReservedConnections = 3

// AppConnections is how many connections an application's role (no
// SUPERUSER) can hold at once: max_connections less the reserved slots.
func (c DBInstanceClass) AppConnections() int { return c.MaxConnections() - ReservedConnections }

// SharedBuffersMiB is RDS for PostgreSQL's default shared_buffers,
// {DBInstanceClassMemory/32768} pages of 8 kB (a quarter of the memory),
// of an eighth of the class's memory (32 MiB per GiB): the buffers are
// allocated up front, and at the full quarter a large class would ask
// this host for more memory than it has. The limit (MemoryMiB) stays the
// class's memory, for the backends' own.
func (c DBInstanceClass) SharedBuffersMiB() int { return max(c.MemoryGiB*32, 1) }

// size is one size of a class family: its name, AWS's vCPUs and memory.
type size struct {
	name      string
	vcpu, mem int
}

// The families' sizes. The m and r families' large sizes have 2 vCPUs; the
// burstable t families have 2 vCPUs up to large.
var (
	burstable = []size{{"micro", 2, 1}, {"small", 2, 2}, {"medium", 2, 4}, {"large", 2, 8}, {"xlarge", 4, 16}, {"2xlarge", 8, 32}}
	general   = []size{{"large", 2, 8}, {"xlarge", 4, 16}, {"2xlarge", 8, 32}, {"4xlarge", 16, 64}, {"8xlarge", 32, 128}, {"12xlarge", 48, 192}, {"16xlarge", 64, 256}, {"24xlarge", 96, 384}}
	memory    = []size{{"large", 2, 16}, {"xlarge", 4, 32}, {"2xlarge", 8, 64}, {"4xlarge", 16, 128}, {"8xlarge", 32, 256}, {"12xlarge", 48, 384}, {"16xlarge", 64, 512}, {"24xlarge", 96, 768}}
)

// burstableCPU is the share of the burstable sizes, as InstanceType gives
// their EC2 twins (t3.micro and small a quarter core, medium and large half).
var burstableCPU = map[string]float64{"micro": 0.25, "small": 0.25, "medium": 0.5, "large": 0.5, "xlarge": 1, "2xlarge": 2}

var dbInstanceClasses = func() map[string]DBInstanceClass {
	out := map[string]DBInstanceClass{}
	add := func(family string, sizes []size, cluster bool) {
		for _, s := range sizes {
			if family == "db.m6g" && s.name == "24xlarge" || family == "db.m6gd" && s.name == "24xlarge" ||
				family == "db.r6gd" && s.name == "24xlarge" {
				continue // Graviton2 families stop at 16xlarge
			}
			c := DBInstanceClass{Name: family + "." + s.name, VCPU: s.vcpu, MemoryGiB: s.mem,
				CPU: float64(s.vcpu) / 4, MemoryMiB: s.mem * 1024, Cluster: cluster}
			if strings.HasPrefix(family, "db.t") {
				c.CPU = burstableCPU[s.name]
			}
			out[c.Name] = c
		}
	}
	add("db.t3", burstable, false)
	add("db.t4g", burstable, false)
	add("db.m5", general, false)
	add("db.m6g", general, false)
	add("db.r5", memory, false)
	add("db.m5d", general, true)
	add("db.m6gd", general, true)
	add("db.r5d", memory, true)
	add("db.r6gd", memory, true)
	return out
}()

// LookupDBInstanceClass returns the lab's mapping for an RDS class name.
func LookupDBInstanceClass(name string) (DBInstanceClass, bool) {
	c, ok := dbInstanceClasses[name]
	return c, ok
}

// DBInstanceClassNames lists the known classes (only those a Multi-AZ DB
// cluster may use when cluster is true), sorted, for error messages.
func DBInstanceClassNames(cluster bool) []string {
	var names []string
	for n, c := range dbInstanceClasses {
		if !cluster || c.Cluster {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// String is the class as a person reads it: "db.t3.micro (2 vCPU, 1 GiB)".
func (c DBInstanceClass) String() string {
	return fmt.Sprintf("%s (%d vCPU, %d GiB)", c.Name, c.VCPU, c.MemoryGiB)
}

// DBInstanceClassFamilies lists the class families the lab knows (only
// those a Multi-AZ DB cluster may use when cluster is true), sorted.
func DBInstanceClassFamilies(cluster bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range DBInstanceClassNames(cluster) {
		f := n[:strings.LastIndexByte(n, '.')]
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
