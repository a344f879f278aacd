package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/internal/runns"
	"github.com/simplydone/lab/sim/az"
)

// Options configure a Runtime.
type Options struct {
	RunID string // required; names the records, the cgroups and LAB_RUN_ID
	// StateDir is where records live (StateDir/<run>/<id>.json). Default:
	// $XDG_STATE_HOME/lab, else ~/.local/state/lab, else <tmp>/lab-<uid>.
	StateDir string
	Logger   *slog.Logger // default slog.Default()
	// Instance output goes to LogDir/<id>.log when LogDir is set, else to
	// Stdout and Stderr (discarded when nil).
	Stdout, Stderr io.Writer
	LogDir         string
	// LogLimit caps each LogDir/<id>.log for the run, a note line ending
	// it; default capfile.Limit (64 MiB).
	LogLimit int64
	// Grace is how long Stop and Terminate wait after SIGTERM before
	// SIGKILL. Default 5 s.
	Grace time.Duration
	// Isolate runs the instances in the run's own network namespace
	// (internal/runns: lab-<run id>, loopback only), made by New and
	// removed by Close, or by Reap after a crash. The instances listen on
	// their zone addresses inside it; reach them with Dial.
	Isolate bool
}

// Runtime runs instances as local processes. It implements az.Runtime: its
// az.Table keeps the instances and their EC2 states, and its driver spawns,
// stops and signals the processes.
type Runtime struct {
	opts  Options
	log   *slog.Logger
	cg    *cgroups
	owner osproc.ID // this process, for records
	t     *az.Table[*instance]
	data  dataDirs  // the run's data directory, made ready for nobody
	ns    *runns.NS // the run's network namespace (Options.Isolate); nil: the host's

	starts      chan startReq  // to the starter goroutine
	stopStarter chan struct{}  // closed once every instance is gone
	wg          sync.WaitGroup // the starter and one waiter per process

	closeErr  error
	closeOnce sync.Once
}

var _ az.Runtime = (*Runtime)(nil)

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// New prepares a runtime for one run: it finds the cgroups it may use and
// says once, through the logger, whether CPU shares are enforced. It does
// not reap earlier runs; call Reap for that.
func New(opts Options) (*Runtime, error) {
	if !runIDPattern.MatchString(opts.RunID) {
		return nil, fmt.Errorf("process runtime: run id %q: want 1-64 of letters, digits, '.', '_', '-'", opts.RunID)
	}
	defaulted := opts.StateDir == ""
	if defaulted {
		opts.StateDir = defaultStateDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Second
	}
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o700); err != nil {
			return nil, fmt.Errorf("process runtime: log dir: %w", err)
		}
	}
	err := os.MkdirAll(filepath.Join(opts.StateDir, opts.RunID), 0o700)
	if err != nil && defaulted {
		opts.StateDir = tempStateDir()
		err = os.MkdirAll(filepath.Join(opts.StateDir, opts.RunID), 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("process runtime: state dir: %w", err)
	}
	self, err := osproc.Self()
	if err != nil {
		return nil, fmt.Errorf("process runtime: identify this process: %w", err)
	}
	var ns *runns.NS
	if opts.Isolate {
		// The records directory exists first, so a crash from here on
		// leaves what Reap needs to find the namespace.
		if ns, err = runns.Create(opts.RunID); err != nil {
			return nil, fmt.Errorf("process runtime: %w", err)
		}
	}
	r := &Runtime{
		ns:          ns,
		opts:        opts,
		log:         opts.Logger.With("runtime", "process", "run", opts.RunID),
		cg:          setupCgroups(opts.RunID),
		data:        dataDirs{stateDir: opts.StateDir, runID: opts.RunID},
		owner:       self,
		starts:      make(chan startReq),
		stopStarter: make(chan struct{}),
	}
	r.t = az.NewTable[*instance](opts.RunID, driver{r}, r.log)
	r.wg.Add(1)
	go r.starter()
	if ok, msg := r.cg.enforced(); ok {
		r.log.Info(msg)
	} else {
		r.log.Warn(msg)
	}
	return r, nil
}

// Enforced reports whether instance CPU shares are enforced by cgroups, with
// a sentence the CLI can print.
func (r *Runtime) Enforced() (bool, string) { return r.cg.enforced() }

// Exited reports instances whose process died on its own (not through
// Stop, Terminate or Close).
func (r *Runtime) Exited() <-chan az.InstanceID { return r.t.Exited() }

// List returns the instances of the run that are not terminated, by id.
func (r *Runtime) List(ctx context.Context) ([]az.Instance, error) { return r.t.List(ctx) }

// Close terminates every instance in parallel, waits for every goroutine
// the runtime started, and removes the run's cgroups and records. Safe to
// call twice.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		errs := []error{r.t.Shut(context.Background())}
		close(r.stopStarter)
		r.wg.Wait()
		errs = append(errs, r.cg.removeParents(), r.data.restore())
		if r.ns != nil {
			errs = append(errs, r.ns.Remove())
		}
		dir := filepath.Join(r.opts.StateDir, r.opts.RunID)
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

func defaultStateDir() string { return runlock.DefaultStateDir() }

func tempStateDir() string { return runlock.TempStateDir() }

// Isolated returns the name of the run's network namespace, or false when
// the instances share the host's network.
func (r *Runtime) Isolated() (string, bool) {
	if r.ns == nil {
		return "", false
	}
	return r.ns.Name(), true
}

// Dial connects to an instance: inside the run's network namespace when
// the runtime has one, else on the host's network.
func (r *Runtime) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if r.ns == nil {
		return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, address)
	}
	return r.ns.Dial(ctx, network, address)
}
