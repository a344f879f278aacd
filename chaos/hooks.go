package chaos

import (
	"context"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
)

// Instances is what chaos acts on: only the run's own running instances.
type Instances interface {
	Running() []Victim
	Kill(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Start(ctx context.Context, id string) error
}

// Pauser is Instances that can also freeze an instance (pause-instance).
// Paused is the runtime's own word that the instance is frozen.
type Pauser interface {
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Paused(ctx context.Context, id string) (bool, error)
}

// RequestFault is a fault on the path from the load balancer to targets.
type RequestFault struct {
	Name      string   // "chaos #3"
	Zone      string   // the targets' zone; "" for all
	Instances []string // narrows to these targets when set
	Percent   float64
	Count     int
	Status    int
	Latency   time.Duration
	Jitter    time.Duration
	Bandwidth int64 // bytes per second
	Reset     bool  // the connection is reset (502)
	Hang      bool  // the target never answers (504 after the idle timeout)
	Blackhole bool  // packets dropped: connect timeouts (504), health checks time out
}

// LoadBalancer is the load balancer's fault hook (http-error, latency).
type LoadBalancer interface {
	// InjectRequestFault activates f on every node; remove deactivates it
	// and returns how many requests it hit.
	InjectRequestFault(f RequestFault) (remove func() int64, err error)
	// Targets is how many targets are registered in zone ("" for all).
	Targets(zone string) int
}

// Capacity is the Auto Scaling group's launch-failure hook (az-outage).
type Capacity interface {
	// ImpairZone makes the group's launches into zone fail with
	// InsufficientInstanceCapacity until restore is called.
	ImpairZone(zone string) (restore func(), err error)
	ZoneImpaired(zone string) bool
}

// NodeController takes a zone's load-balancer node down (kill-lb-node,
// az-outage) until restore is called.
type NodeController interface {
	NodeDown(zone string) (restore func(), err error)
}

// Hogger burns CPU inside an instance's own CPU limit (cpu-hog) until stop
// is called; CPU is the runtime's reading of the instance's CPUUtilization
// since the previous reading.
type Hogger interface {
	Hog(ctx context.Context, id string) (stop func() error, err error)
	CPU(ctx context.Context, id string) (float64, error)
}

// Store is the run's shared database (store-outage): Lock makes it
// unavailable to every instance until release; Healthy is an instance's
// deep health check, answered or not.
type Store interface {
	Lock(ctx context.Context) (release func() error, err error)
	Healthy(ctx context.Context, id string) error
}

// Database is the run's data tier (db-failover, kill-db, replica-lag and
// az-outage's database part). Each resolves which (DBPrimary, DBReplica or
// an identifier) to a DB instance and says which it acted on.
type Database interface {
	// Failover reboots the DB instance with failover (it returns once the
	// endpoint has moved); on a read replica it promotes it to a standalone
	// DB instance at its own endpoint (PromoteReadReplica: the source and
	// the application's endpoint are untouched), and returns once it takes
	// writes there.
	Failover(ctx context.Context, which string) (identifier string, err error)
	// Kill kills the DB instance's server, as its host failing would.
	Kill(ctx context.Context, which string) (identifier string, err error)
	// PauseReplication stops the replica's replication until resume.
	PauseReplication(ctx context.Context, which string) (identifier string, resume func(context.Context) (string, error), err error)
	// ZoneDown kills the zone's DB instances and keeps the tier from
	// recovering anything there until restore; it names what it killed.
	ZoneDown(ctx context.Context, zone string) (killed []string, restore func(), err error)
}

// Repointer is the data tier and the group as repoint-database needs them.
// The lab's Database hook implements it too; a Database without it cannot
// apply repoint-database.
type Repointer interface {
	// Repoint points the application at the DB instance which names
	// (DBReplica: the promoted read replica; DBPrimary: the source's own
	// endpoint; or an identifier): a new launch template version whose
	// database URLs are that instance's endpoint, and an instance refresh
	// to it. It returns once the refresh has started.
	Repoint(ctx context.Context, which string) (Repointed, error)
}

// Repointed is what a Repoint did.
type Repointed struct {
	Identifier string // the DB instance the application is pointed at
	Endpoint   string // its endpoint's name
	Version    int    // the launch template version made
	RefreshID  string // the instance refresh to it
	// Refused names each group whose instance refresh was refused (one in
	// progress already), with AWS's reason: it stays on its database. A
	// Repoint that started none returns an error instead.
	Refused []string
}

// Gauges are the group's figures an After condition reads.
type Gauges interface {
	Gauge(metric string) (float64, bool)
}

// Desirer is Instances that knows the group's desired capacity, so that the
// instances down (killed and not yet replaced) count against the limits.
type Desirer interface{ Desired() int }

// InServicer is Instances that knows how many instances are in service. A
// replacement the group is still bringing up (pending, booting, held by a
// launch hook) serves nobody yet, so until it is in service the instance
// it replaces still counts as down against max_down_instances.
type InServicer interface{ InService() int }

// Publisher takes chaos events.
type Publisher interface{ Publish(events.Event) }

// hooks are what the lab lets chaos act through: all a fault is made
// from. A nil hook is a fault this lab cannot apply.
type hooks struct {
	clock    clock.Clock
	target   Instances
	lb       LoadBalancer   // nil: request faults and az-partition are not applied
	capacity Capacity       // nil: az-outage is not applied
	nodes    NodeController // nil: kill-lb-node is not applied, az-outage leaves the node up
	store    Store          // nil: store-outage is not applied
	db       Database       // nil: the data tier's faults are not applied, az-outage leaves no database down
}
