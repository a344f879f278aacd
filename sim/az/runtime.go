package az

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Spec is what a runtime needs to launch one instance.
type Spec struct {
	ID      InstanceID
	Zone    Zone
	Addr    netip.Addr // the instance's private address in its zone's subnet
	Port    int        // the port the workload listens on (the target group's traffic port)
	Type    InstanceType
	Command []string          // program and arguments; the process runtime runs it
	Image   string            // an image to run as is, Command[1:] its arguments (Docker only; else one is built from Command[0])
	Env     map[string]string // extra environment; the runtime adds LAB_ADDR, LAB_PORT, LAB_INSTANCE_ID, LAB_ZONE
	DataDir string            // shared data directory every instance of the run mounts
	RunID   string            // the run that owns the instance; every resource carries it
}

// Instance is a launched instance as a runtime reports it.
type Instance struct {
	ID      InstanceID
	Zone    string
	Addr    netip.Addr
	Port    int
	Type    string
	RunID   string
	PID     int // process runtime only; 0 otherwise
	Started time.Time
	State   State
}

// State is an instance state in EC2's words.
type State string

const (
	StatePending    State = "pending"
	StateRunning    State = "running"
	StateStopped    State = "stopped"
	StatePaused     State = "paused" // frozen: the gray failure; EC2 would still say running
	StateTerminated State = "terminated"
)

// Stats is one reading of an instance's resource use.
type Stats struct {
	// CPUUtilization is the percentage of the instance's CPU share used since
	// the previous reading, as CloudWatch's CPUUtilization is of the
	// instance's vCPUs. It can exceed 100 only when no limit is enforced.
	CPUUtilization float64
	MemoryBytes    uint64
}

// ErrNotFound is returned for an instance the runtime does not own.
var ErrNotFound = errors.New("instance not found")

// Launcher starts an instance.
type Launcher interface {
	Launch(ctx context.Context, s Spec) (Instance, error)
}

// Terminator ends an instance for good.
type Terminator interface {
	Terminate(ctx context.Context, id InstanceID) error
}

// Runtime runs instances. Every method is safe for concurrent use.
type Runtime interface {
	Launcher
	Terminator
	// Stop stops an instance so that Start can boot it again (a reboot).
	Stop(ctx context.Context, id InstanceID) error
	Start(ctx context.Context, id InstanceID) error
	// Kill ends an instance abruptly, as a crash would; it is then
	// reported on Exited and stays stopped.
	Kill(ctx context.Context, id InstanceID) error
	// Pause freezes an instance (its sockets stay open, nothing answers);
	// Resume thaws it.
	Pause(ctx context.Context, id InstanceID) error
	Resume(ctx context.Context, id InstanceID) error
	Stats(ctx context.Context, id InstanceID) (Stats, error)
	// List returns what this runtime owns for its run.
	List(ctx context.Context) ([]Instance, error)
	// Exited reports instances that died on their own, as they die.
	Exited() <-chan InstanceID
	// Close terminates everything the runtime started; safe to call twice.
	Close() error
}
