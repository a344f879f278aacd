package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/todo"
	"github.com/simplydone/lab/todo/storefile"
)

// Main runs one SimplyDone instance with args (the command line after the
// program's name) until SIGTERM or SIGINT, and returns the exit status: 0
// after a graceful shutdown, 1 when the instance could not start or failed.
// With the single argument "hog" it burns CPU until signalled instead.
func Main(args []string) int {
	if len(args) == 1 && args[0] == "hog" { // chaos's cpu-hog inside the instance
		Hog()
		return 0
	}
	if err := run(args); err != nil {
		fmt.Fprintln(os.Stderr, "simplydone:", err)
		return 1
	}
	return 0
}

func run(args []string) error {
	cpuCost, err := envDuration("SIMPLYDONE_CPU_COST")
	if err != nil {
		return err
	}
	bootDelay, err := envDuration("SIMPLYDONE_BOOT_DELAY")
	if err != nil {
		return err
	}
	restartDelay, err := envDuration("SIMPLYDONE_RESTART_DELAY")
	if err != nil {
		return err
	}

	maxInFlight, err := envInt("SIMPLYDONE_MAX_INFLIGHT", 4)
	if err != nil {
		return err
	}
	queryCost, err := envDuration("SIMPLYDONE_DB_QUERY_COST")
	if err != nil {
		return err
	}
	poolSize, err := envInt("SIMPLYDONE_DB_POOL", todo.DefaultPoolSize)
	if err != nil {
		return err
	}

	fs := flag.NewFlagSet("simplydone", flag.ContinueOnError)
	addr := fs.String("addr", env("LAB_ADDR", "127.0.0.1"), "listen host")
	port := fs.String("port", env("LAB_PORT", "8080"), "listen port")
	id := fs.String("instance-id", env("LAB_INSTANCE_ID", fmt.Sprintf("simplydone-%d", os.Getpid())), "instance id")
	zone := fs.String("zone", env("LAB_ZONE", ""), "availability zone")
	dataDir := fs.String("data-dir", env("LAB_DATA_DIR", "./data"), "shared data directory (the SQLite store, when there is no -database-url)")
	// By the endpoints' names where the lab's DNS answers them (a failover
	// flips the name, as RDS's DNS does), else by their stable addresses.
	dbURL := fs.String("database-url", byName("DATABASE_URL"), "PostgreSQL writer endpoint, postgres://user:password@host:port/db (default: SQLite in -data-dir)")
	readerURL := fs.String("reader-url", byName("DATABASE_READER_URL"), "PostgreSQL reader endpoint lists and gets go to (default: the writer)")
	dnsResolver := fs.String("dns-resolver", os.Getenv("LAB_DNS_RESOLVER"), "DNS server (host:port) that resolves the database endpoints' names, answers kept for their TTL (default: the system's resolver)")
	fs.IntVar(&poolSize, "db-pool", poolSize, "database connections kept at most, per endpoint")
	fs.DurationVar(&queryCost, "db-query-cost", queryCost, "CPU time the database spends on a costlier query before each statement (0: none)")
	fs.DurationVar(&cpuCost, "cpu-cost", cpuCost, "CPU time burned per API request")
	fs.DurationVar(&bootDelay, "boot-delay", bootDelay, "simulated boot delay")
	fs.DurationVar(&restartDelay, "restart-delay", restartDelay, "simulated boot delay once the instance has booted before (0 with no restart delay set: the boot delay)")
	fs.IntVar(&maxInFlight, "max-inflight", maxInFlight, "API requests worked on at once (0: no bound)")
	version := fs.String("version", env("SIMPLYDONE_VERSION", todo.DefaultVersion), "the release this instance runs")
	cart := fs.String("cart", env("SIMPLYDONE_CART", todo.CartMemory), `where each user's cart lives: "memory" (the instance's own) or "database"`)
	broken := fs.String("broken", os.Getenv("SIMPLYDONE_BROKEN"), `a deliberately broken build: "health" makes /health answer 500, "list" the list (GET /api/todos)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cpuCost < 0 || bootDelay < 0 || restartDelay < 0 || maxInFlight < 0 || poolSize < 0 || queryCost < 0 {
		return fmt.Errorf("cpu-cost, boot-delay, max-inflight, db-pool and db-query-cost must not be negative")
	}
	if *readerURL != "" && *dbURL == "" {
		return fmt.Errorf("a reader endpoint (-reader-url, DATABASE_READER_URL) needs a writer endpoint (-database-url, DATABASE_URL)")
	}
	if err := todo.CheckCart(*cart); err != nil {
		return fmt.Errorf("SIMPLYDONE_CART: %w", err)
	}
	if err := todo.CheckBroken(*broken); err != nil {
		return fmt.Errorf("SIMPLYDONE_BROKEN: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if restartDelay > 0 || os.Getenv("SIMPLYDONE_RESTART_DELAY") != "" {
		// The first boot leaves a mark (what the root volume keeps across a
		// stop); a restart finds it and waits only the restart delay.
		if storefile.HasBooted(*dataDir, *id) {
			bootDelay = restartDelay
		}
		if !sleep(ctx, logger, bootDelay) {
			return nil // stopped while booting: no mark, the next boot starts over
		}
		bootDelay = 0
		if err := storefile.MarkBooted(*dataDir, *id); err != nil {
			logger.Warn("first-boot mark", "err", err)
		}
	}

	return todo.Run(ctx, todo.Config{
		Addr:        net.JoinHostPort(*addr, *port),
		DataDir:     *dataDir,
		DatabaseURL: *dbURL,
		ReaderURL:   *readerURL,
		PoolSize:    poolSize,
		DNSResolver: *dnsResolver,
		DBQueryCost: queryCost,
		Cart:        *cart,
		InstanceID:  *id,
		Zone:        *zone,
		CPUCost:     cpuCost,
		MaxInFlight: maxInFlight,
		BootDelay:   bootDelay,
		Logger:      logger,
		Version:     *version,
		Broken:      *broken,
	})
}

// sleep waits d (a simulated boot) unless ctx ends first; false then.
func sleep(ctx context.Context, log *slog.Logger, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	log.Info("booting", "delay", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envDuration(key string) (time.Duration, error) {
	v := os.Getenv(key)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

func envInt(key string, def int) (int, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", key, v)
	}
	return n, nil
}

// byName is the endpoint URL in the environment variable name, by the
// endpoint's DNS name (the lab's DATABASE_ENDPOINT_URL for DATABASE_URL)
// when LAB_DNS_RESOLVER says where to resolve it, else name's own value.
func byName(name string) string {
	if os.Getenv("LAB_DNS_RESOLVER") != "" {
		if u := os.Getenv(strings.TrimSuffix(name, "_URL") + "_ENDPOINT_URL"); u != "" {
			return u
		}
	}
	return os.Getenv(name)
}
