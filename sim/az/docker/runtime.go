package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/sim/az"
)

// Labels every container of the lab carries, in the lab's own namespace. A
// container is the lab's (Owned) only when it carries every one of them and
// its name is ContainerName of its run and instance; nothing else is ever
// removed by a reaper.
const (
	LabelRun        = "io.simplydone.lab.run"               // the run id
	LabelZone       = "io.simplydone.lab.zone"              // the zone name
	LabelInstance   = "io.simplydone.lab.instance"          // the instance id
	LabelOwnerPID   = "io.simplydone.lab.owner.pid"         // the pid of the lab that launched it
	LabelOwnerStart = "io.simplydone.lab.owner.start-ticks" // that lab's start time, clock ticks since boot (/proc/PID/stat field 22)
	LabelOwnerBoot  = "io.simplydone.lab.owner.boot-id"     // the boot that lab ran in
	LabelOwnerHost  = "io.simplydone.lab.owner.host"        // the host name the lab ran on
	LabelOwnerUID   = "io.simplydone.lab.owner.uid"         // the user the lab ran as
)

// ownerLabels are the labels every container of the lab carries besides
// its zone and instance.
var ownerLabels = []string{LabelRun, LabelOwnerPID, LabelOwnerStart, LabelOwnerBoot, LabelOwnerHost, LabelOwnerUID}

// StatsSource says where Stats reads CPU and memory from.
type StatsSource int

const (
	// StatsAuto reads the container's cgroup when the engine is local and
	// the cgroup files are there (cgroup v1), else the engine's Stats API.
	StatsAuto StatsSource = iota
	StatsCgroup
	StatsAPI
)

// Options configure a Runtime.
type Options struct {
	RunID  string       // required; names the containers and labels them
	Logger *slog.Logger // default slog.Default()
	// Grace is how long Stop and Terminate let an instance shut down after
	// SIGTERM before the engine kills it. Default 5 s.
	Grace time.Duration
	// PidsLimit caps the processes and threads of each container. Default 256.
	PidsLimit int64
	// StatsWorkers bounds the Stats API calls in flight at once. Default
	// 16: the engine answers each call at its next one-second collection
	// tick, so calls cost wall time rather than CPU, and a bound well below
	// the number of instances makes a round of readings take several ticks.
	StatsWorkers int
	Stats        StatsSource
	// LogDir, when set, receives each instance's output as LogDir/<id>.log,
	// copied from the engine when the instance terminates.
	LogDir string
	// Context names the Docker CLI context whose engine runs the
	// instances (engine.go); "" the environment's (DOCKER_HOST, else the
	// local socket).
	Context string
	// Isolate gives each container a network namespace of its own with
	// loopback only (network mode none) instead of the host's network:
	// it listens on its zone address there and reaches nothing of the
	// host. Reach it with Dial (as root: the dial enters the namespace).
	Isolate bool
}

// Runtime runs instances as Docker containers. It implements az.Runtime:
// its az.Table keeps the instances and their EC2 states, and its driver
// creates, starts, stops and signals the containers.
type Runtime struct {
	opts    Options
	log     *slog.Logger
	cli     *client.Client
	owner   map[string]string // the owner labels
	local   bool              // the engine runs on this machine (unix socket)
	enforce bool
	why     string
	images  *imageCache
	statSem chan struct{}
	t       *az.Table[*instance]

	pidMu sync.Mutex
	pids  map[string]int // container id -> its first process (Isolate's Dial)

	stopWatch context.CancelFunc
	wg        sync.WaitGroup

	closeErr  error
	closeOnce sync.Once
}

var _ az.Runtime = (*Runtime)(nil)

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// newClient connects to the engine DOCKER_HOST names (default: the local
// socket), speaking the highest API version both sides know.
func newClient() (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
}

// Available reports whether a Docker engine answers, and the API version
// the two sides agreed on (at most the engine's; 1.41 for Debian's 20.10).
func Available(ctx context.Context) (string, error) {
	cli, err := newClient()
	if err != nil {
		return "", fmt.Errorf("docker: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return "", fmt.Errorf("docker: no engine answers at %s: %w", cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersion(ctx)
	return cli.ClientVersion(), nil
}

// New connects to the engine and prepares a runtime for one run: it asks
// the engine which limits it enforces and starts watching the run's
// containers for deaths. It does not reap earlier runs; call Reap for that.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if !runIDPattern.MatchString(opts.RunID) {
		return nil, fmt.Errorf("docker runtime: run id %q: want 1-64 of letters, digits, '.', '_', '-'", opts.RunID)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Second
	}
	if opts.PidsLimit <= 0 {
		opts.PidsLimit = 256
	}
	if opts.StatsWorkers <= 0 {
		opts.StatsWorkers = 16
	}
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o700); err != nil {
			return nil, fmt.Errorf("docker runtime: log dir: %w", err)
		}
	}
	cli, err := contextClient(opts.Context)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: %w", err)
	}
	info, err := cli.Info(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker runtime: no engine answers at %s: %w", cli.DaemonHost(), err)
	}
	self, err := osproc.Self()
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker runtime: identify this process: %w", err)
	}
	host, _ := os.Hostname()
	r := &Runtime{
		opts: opts,
		log:  opts.Logger.With("runtime", "docker", "run", opts.RunID),
		cli:  cli,
		owner: map[string]string{
			LabelRun: opts.RunID, LabelOwnerPID: strconv.Itoa(self.PID),
			LabelOwnerStart: strconv.FormatUint(self.Start, 10), LabelOwnerBoot: self.Boot,
			LabelOwnerHost: host, LabelOwnerUID: strconv.Itoa(os.Getuid()),
		},
		local:   strings.HasPrefix(cli.DaemonHost(), "unix://"),
		images:  newImageCache(),
		statSem: make(chan struct{}, opts.StatsWorkers),
	}
	r.t = az.NewTable[*instance](opts.RunID, driver{r}, r.log)
	r.enforce, r.why = enforcement(info)
	if r.enforce {
		r.log.Info(r.why)
	} else {
		r.log.Warn(r.why)
	}
	wctx, cancel := context.WithCancel(context.Background())
	r.stopWatch = cancel
	ready := make(chan struct{})
	r.wg.Add(1)
	go r.watch(wctx, time.Now().Add(-time.Second), ready)
	<-ready
	return r, nil
}

// enforcement says, from the engine's own report, whether it can hold a
// container to its CPU share, memory and pids.
func enforcement(info system.Info) (bool, string) {
	v := info.CgroupVersion
	if v == "" {
		v = "1"
	}
	if !info.CPUCfsQuota {
		return false, "CPU shares are NOT enforced: the Docker engine reports no CFS quota support; instances may use whole cores"
	}
	var missing []string
	if !info.MemoryLimit {
		missing = append(missing, "memory")
	}
	if !info.PidsLimit {
		missing = append(missing, "pids")
	}
	msg := fmt.Sprintf("CPU shares enforced by the Docker engine %s (a CFS quota, cgroup v%s, driver %s)", info.ServerVersion, v, info.CgroupDriver)
	if len(missing) > 0 {
		return true, msg + "; limits NOT enforced: " + strings.Join(missing, ", ")
	}
	return true, msg + "; memory and pids limits enforced"
}

// Enforced reports whether instance CPU shares are enforced (by the
// engine, with a CFS quota), with a sentence the CLI can print.
func (r *Runtime) Enforced() (bool, string) { return r.enforce, r.why }

// Exited reports instances whose container died on its own or through
// Kill (not through Stop, Terminate or Close).
func (r *Runtime) Exited() <-chan az.InstanceID { return r.t.Exited() }

// List returns the instances of the run that are not terminated, by id.
func (r *Runtime) List(ctx context.Context) ([]az.Instance, error) { return r.t.List(ctx) }

// Close terminates every instance in parallel, removes any other container
// labelled with the run, stops watching events and closes the client. Safe
// to call twice.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Grace+30*time.Second)
		defer cancel()
		errs := []error{r.t.Shut(ctx)}
		errs = append(errs, r.removeRunContainers(ctx))
		r.stopWatch()
		r.wg.Wait()
		errs = append(errs, r.cli.Close())
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// removeRunContainers removes whatever is still the run's own: carrying
// the run's label, this runtime's owner labels and the run's name prefix.
func (r *Runtime) removeRunContainers(ctx context.Context) error {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRun+"="+r.opts.RunID))})
	if err != nil {
		return fmt.Errorf("list containers of run %s: %w", r.opts.RunID, err)
	}
	var errs []error
	for _, c := range list {
		if !Owned(c.Labels, c.Names) || !sameOwner(c.Labels, r.owner) {
			r.log.Warn("a container carries the run's label but is not the run's own; left alone", "container", c.ID[:12], "names", c.Names)
			continue
		}
		if err := removeContainer(ctx, r.cli, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
