package chaos

import "time"

// Action kinds: the one definition of their names (scenarios uses these).
const (
	KillInstance  = "kill-instance"
	StopInstance  = "stop-instance"
	PauseInstance = "pause-instance" // freeze (the gray failure), resume after Duration
	HTTPError     = "http-error"     // the load balancer answers Percent of requests with Status, as the target would
	Latency       = "latency"        // the load balancer delays Percent of requests by Latency ± Jitter
	AZOutage      = "az-outage"      // FIS AZ power interruption: stop the zone's instances, no launches there, subnets cut off 2m
	// Network faults on the path from the load balancer to targets, Toxiproxy-style.
	Bandwidth         = "bandwidth"          // response bodies at most Bandwidth bytes/s
	ConnectionReset   = "connection-reset"   // the connection is reset: the load balancer answers 502
	ConnectionTimeout = "connection-timeout" // the target never answers: 504 after the idle timeout
	AZPartition       = "az-partition"       // the nodes cannot reach the zone's targets: connect timeouts, health checks time out
	CPUHog            = "cpu-hog"            // CPU burned inside the instance's own limit
	StoreOutage       = "store-outage"       // the shared database locked: writes and reads fail, deep health fails
	KillLBNode        = "kill-lb-node"       // the zone's load-balancer node goes down
	Monkey            = "monkey"             // Chaos Monkey: random kills with a mean and a minimum gap (expands to kill-instance)
	// The data tier's faults (sim/rds).
	DBFailover = "db-failover" // reboot with failover (RebootDBInstance ForceFailover); on a read replica, its promotion (PromoteReadReplica)
	KillDB     = "kill-db"     // a DB instance's host lost: the primary (a failover follows) or a standby or replica
	ReplicaLag = "replica-lag" // a read replica's replication paused (WAL receiver cut off, replay paused) for Duration
	// DBConnections holds Connections connections to a DB instance for
	// Duration, as a leaky client would (fault_dbconns.go).
	DBConnections = "db-connections"
	// RepointDatabase is the team's redeploy that points the application
	// at another DB instance's endpoint (a promoted read replica's):
	// a launch template version with the new DATABASE_URL and an
	// instance refresh to it (fault_db.go).
	RepointDatabase = "repoint-database"
)

// DB instance choices of the data tier's faults (Action.DBInstance), beside
// a DB instance's own identifier.
const (
	DBPrimary = "primary" // the primary (a cluster's writer) now
	DBReplica = "replica" // the first read replica (else a standby or reader); for repoint-database, the promoted one
)

// Kinds lists every action kind.
var Kinds = []string{KillInstance, StopInstance, PauseInstance, HTTPError, Latency, Bandwidth, ConnectionReset,
	ConnectionTimeout, AZOutage, AZPartition, CPUHog, StoreOutage, KillLBNode, Monkey, DBFailover, KillDB, ReplicaLag, DBConnections, RepointDatabase}

// The kinds by what they act on.
var (
	InstanceKinds = []string{KillInstance, StopInstance, PauseInstance, CPUHog}                 // chosen instances
	RequestKinds  = []string{HTTPError, Latency, Bandwidth, ConnectionReset, ConnectionTimeout} // the path to the targets
	ZoneKinds     = []string{AZOutage, AZPartition, KillLBNode}                                 // a zone down: they need a zone; max_down_zones counts them
	DBKinds       = []string{DBFailover, KillDB, ReplicaLag, DBConnections, RepointDatabase}    // the data tier: they take db_instance
)

// DefaultStatus is what http-error answers when the action gives no status.
const DefaultStatus = 503

// Action is one fault on the timeline; At and Duration are AWS durations
// from the start of the run (from the moment After first holds, when it is
// set). Latency, Jitter and Bandwidth are request time (wall time, as the
// load generator measures latency).
type Action struct {
	At    time.Duration
	After string // an event, "desired_capacity >= 4": At counts from when it first holds
	// Every repeats the action this long after each time it happens, ±
	// EveryJitter (seeded); Repeat is how many times in all (0 with Every:
	// until the load ends).
	Every       time.Duration
	EveryJitter time.Duration
	Repeat      int

	Kind     string
	Zone     string   // empty: any zone (all zones for request faults)
	Select   Selector // which instances (instance faults; narrows request faults)
	Duration time.Duration
	Percent  float64 // request faults: the share of requests hit (the toxicity), 0 to 100 (0: 100)
	Status   int     // http-error: the status answered (0: DefaultStatus)
	Count    int     // http-error: only the first Count requests fail (0: no limit)
	Latency  time.Duration
	Jitter   time.Duration
	Rate     int64 // bandwidth: bytes per second

	BlackholeFor time.Duration // az-outage: how long the zone's subnets are cut off (0: FISBlackhole, 2 minutes)
	LBNode       string        // az-outage: LBNodeUp ("", FIS's) or LBNodeDown (a harsher test)

	MeanGap, MinGap time.Duration // monkey: the mean and the least time between kills

	// DBInstance is which DB instance a data-tier fault acts on: DBPrimary,
	// DBReplica or an identifier ("": the kind's default: the primary for
	// kill-db and db-failover, a replica for replica-lag).
	DBInstance string
	// Connections is how many connections db-connections holds.
	Connections int

	By string // who asked: "" for the scenario's timeline, "hand" for a person at the TUI
}

// Selector chooses instances among the run's running ones (in Zone when it
// is set). Without IDs, Count or Percent it chooses one.
type Selector struct {
	IDs     []string // exactly these (each must be one of the run's running instances)
	Count   int      // this many
	Percent float64  // this share, rounded up
	Order   string   // random (default, seeded), oldest or newest (by launch time)
}

// Selection orders.
const (
	OrderRandom = "random"
	OrderOldest = "oldest"
	OrderNewest = "newest"
)

// Orders lists the selection orders.
var Orders = []string{OrderRandom, OrderOldest, OrderNewest}

// Limits bound the blast radius: a fault that would take more instances or
// zones down at once is refused (FaultNotApplied). 0: no limit.
type Limits struct {
	MaxDownInstances int
	MaxDownZones     int
}

// Victim is an instance chaos may act on.
type Victim struct {
	ID       string
	Zone     string
	Launched time.Time // for oldest and newest
}
