package tui

import (
	"time"

	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/lab"
)

// Snapshot is everything the view shows at one moment. The aggregator
// builds a new one a few times a second; nothing in it is shared with the
// aggregator afterwards.
type Snapshot struct {
	Scenario string
	Stack    string
	Speed    float64
	Phase    string        // the load's phase; "" before the load starts
	AWS      time.Duration // AWS time since the run started
	Wall     time.Duration // wall time since the run started
	Up       bool          // the tier is up (the lab has started)

	Offered  float64 // requests per second the schedule asked for, last second
	Achieved float64 // requests sent in the last second

	SLOs   []SLOBadge
	Zones  []Zone
	Group  Group
	Alarms []Alarm
	// Database is the data tier's DB instances, the primary first, with
	// their latest AWS/RDS minute; empty without a database.
	Database []DBInstance
	// CPUThresholds are the thresholds of the alarms on CPUUtilization, for
	// the instances' CPU bars.
	CPUThresholds []float64

	History History // one point per second of load, the last few minutes
	Events  []Entry // events since the previous snapshot, oldest first
	Done    bool    // the run has ended
	Verdict string  // PASS, FAIL, INVALID or INTERRUPTED once Done
	Reason  string  // why, when not PASS
}

// History is per-second load, oldest first, all of the same length.
type History struct {
	Offered []float64
	OK      []float64 // 2xx and other non-errors
	Errors  []float64 // 5xx and transport errors
	P99     []float64 // milliseconds
	P50     []float64 // milliseconds
	// InService is the instances in service in each zone, by zone name.
	InService map[string][]float64 `json:",omitempty"`
	// Marks has a byte a second: what the group and the chaos did in it,
	// MarkScaleOut, MarkScaleIn, MarkFault, or MarkNone.
	Marks string `json:",omitempty"`
}

// Marks of History.Marks; a fault outranks a scale-out, which outranks a
// scale-in, when they fall in the same second.
const (
	MarkNone     = ' '
	MarkScaleIn  = '-'
	MarkScaleOut = '+'
	MarkFault    = '!'
)

// SLO badge states.
const (
	Holding  = "holding"
	AtRisk   = "at risk"
	Breached = "breached"
	Pending  = "pending" // no data yet, or known only at the end
)

// SLOBadge is one SLO judged from the seconds seen so far.
type SLOBadge struct {
	Expr     string
	Status   string // Holding, AtRisk, Breached or Pending
	Observed string // "99.87%", "≈412ms", "at the end"
}

// Zone is one Availability Zone: its load-balancer node and its instances.
type Zone struct {
	Name      string
	Node      Node
	Instances []Instance
}

// Node is a zone's load-balancer node.
type Node struct {
	Addr      string // host:port clients reach
	Healthy   int    // targets this node sees healthy (all zones)
	Unhealthy int
	// Down: the node is stopped (its zone failed): it refuses connections
	// and runs no health checks.
	Down bool `json:",omitempty"`
	// DNS is DNSIn when the load balancer's DNS name hands the node out,
	// DNSOut when it does not, "" before the entry is up.
	DNS string `json:",omitempty"`
	// FailOpen: below the unhealthy_state_routing threshold, the node
	// routes to every target, unhealthy ones included (UnhealthyStateRouting).
	FailOpen bool `json:",omitempty"`
}

// Node.DNS values.
const (
	DNSIn  = "in"
	DNSOut = "out"
)

// Instance is one instance as its zone's node sees it.
type Instance struct {
	ID          string
	State       string // lifecycle: Pending, InService, Terminating, ...
	Health      string // target health as the instance's own zone's node sees it; "" if not registered
	Reason      string // AWS reason code, e.g. Target.FailedHealthChecks
	Description string
	HealthyOn   int // live nodes that see it healthy
	Nodes       int // live nodes that have a view of it
	// Views is each live node's state of the target, by node zone, as the
	// nodes gossip them, when they do not all agree ("" for a node that has
	// no view of it); nil when they agree.
	Views  map[string]string `json:",omitempty"`
	CPU    float64
	HasCPU bool
}

// Group is the Auto Scaling group's capacity.
type Group struct {
	Name                    string
	Min, Desired, Max       int
	InService, Pending, Off int // Off: terminating
	// Warming is the pending instances and those in service still in
	// their warm-up: step scaling starts a scale-out from the capacity
	// without them, and holds a scale-in until they are warm.
	Warming int
	// Services are the stack's services, on a stack with several: each
	// its group's and its target group's figures (lab.ServiceState).
	Services []lab.ServiceState
}

// Alarm is a CloudWatch alarm.
type Alarm struct {
	Name       string
	State      string // OK, ALARM, INSUFFICIENT_DATA
	Metric     string
	Comparison string // >, >=, <, <=
	Threshold  float64
	Reason     string // the last state change's reason, in AWS's words
	// Value is the newest datapoint the state's reason cites (HasValue):
	// what a step policy picks its step by.
	Value    float64 `json:",omitempty"`
	HasValue bool    `json:",omitempty"`
	// Policy is the scaling policy the alarm drives, if any.
	Policy *AlarmPolicy `json:",omitempty"`
}

// AlarmPolicy is the scaling policy an alarm drives, as nextAction needs it.
type AlarmPolicy struct {
	Name           string
	Type           string // SimpleScaling, StepScaling or TargetTrackingScaling
	AdjustmentType string // ChangeInCapacity, ExactCapacity, PercentChangeInCapacity
	Adjustment     int    // simple scaling
	Steps          []PolicyStep
	MinAdjustment  int     // PercentChangeInCapacity; 0 not set
	Threshold      float64 // the alarm's: step bounds are relative to it
	// CooldownLeft: simple scaling waits this long more before it acts again.
	CooldownLeft time.Duration `json:",omitempty"`
	// target tracking: High is the scale-out alarm (else the scale-in one)
	High      bool `json:",omitempty"`
	NoScaleIn bool `json:",omitempty"`
}

// DBInstance is one DB instance of the data tier as the lab observes it.
type DBInstance = lab.DBInstanceState

// PolicyStep is one step of a step scaling policy; bounds are relative to
// the threshold, nil unbounded.
type PolicyStep = lab.PolicyStep

// Filter classes of the event log.
const (
	ClassAll = iota
	ClassHealth
	ClassScaling
	ClassAlarms
	ClassChaos
	ClassLoad
	numClasses
)

var classNames = [numClasses]string{"all", "target health", "scaling", "alarms", "chaos", "load"}

// Entry is one line of the event log.
type Entry struct {
	Seq   uint64
	At    time.Duration // AWS time since the run started
	Class int           // one of the Class constants (never ClassAll)
	Text  string        // the event's message, in AWS's words
	Event events.Event  `json:"-"` // nil for the view's own notes, and across the live socket
	// Manual marks a fault by hand (k, z) and its revert.
	Manual bool `json:",omitempty"`
	// Why is what explain says about the event, filled in for the live
	// socket (where Event does not go).
	Why []string `json:",omitempty"`
}
