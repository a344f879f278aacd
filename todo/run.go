package todo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server timeouts. IdleTimeout outlives a load balancer's idle timeout (the
// ALB's default is 60 s; AWS advises the target's keep-alive be longer), so
// the balancer, not the instance, closes idle keep-alive connections and
// never races a request against a close.
const (
	IdleTimeout       = 120 * time.Second
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	// DefaultShutdownTimeout bounds the wait for in-flight requests.
	DefaultShutdownTimeout = 30 * time.Second
)

// Config configures one SimplyDone instance.
type Config struct {
	Addr    string // host:port to listen on; ignored when Listener is set
	DataDir string // shared data directory holding simplydone.db
	// DatabaseURL, if set, is the PostgreSQL writer endpoint the todos live
	// in instead of SQLite in DataDir; ReaderURL the reader endpoint lists
	// and gets go to, if any; PoolSize bounds each endpoint's connections
	// (0: DefaultPoolSize).
	DatabaseURL string
	ReaderURL   string
	PoolSize    int
	// DNSResolver, if set (host:port), resolves the database URLs' host
	// names, each answer kept for its TTL (the lab's DNS, where RDS
	// endpoints' names are); else the system's resolver.
	DNSResolver string
	// DBQueryCost, with a database, makes every statement cost the
	// database this much CPU time first (querycost.go); 0 none.
	DBQueryCost time.Duration
	// Cart says where each user's cart (session state) lives: CartMemory
	// ("" too), the instance's own memory, or CartDatabase.
	Cart       string
	InstanceID string // served in X-Instance-Id and /health
	Zone       string // served in /health
	// CPUCost is the synthetic CPU time each /api/ request burns hashing
	// with sha256 on its own goroutine before it is handled. Zero disables it.
	CPUCost time.Duration
	// MaxInFlight bounds how many /api/ requests are worked on at once; the
	// rest wait their turn (until their client gives up). /health is never
	// held back, so an instance that is busy, not broken, keeps passing its
	// health checks. Zero means no bound.
	MaxInFlight int
	// BootDelay is waited before the store is opened and the port bound,
	// to simulate an instance's boot time.
	BootDelay time.Duration
	Logger    *slog.Logger // nil discards logs
	// Version is the release this instance runs, served in
	// X-SimplyDone-Version on every response and in /health ("" is v1).
	Version string
	// Broken names a deliberately broken build: BrokenHealth makes /health
	// answer 500 while the API keeps working (a release that fails its
	// load balancer health checks, so a deploy rolls back).
	Broken string

	// Listener, if set, is served instead of listening on Addr (tests use
	// it to own a free loopback port). Run closes it.
	Listener net.Listener
	// ShutdownTimeout bounds the graceful shutdown; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// beforeAPI, if set, runs at the start of every /api/ request (a test
	// hook to hold a request in flight).
	beforeAPI func(*http.Request)
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Run boots an instance: it waits BootDelay, opens the store in DataDir,
// listens on Addr (or serves Listener) and serves until ctx is done. Then it
// shuts down gracefully: it stops accepting, lets in-flight requests finish
// (for at most ShutdownTimeout), closes the store and returns. It returns nil
// after a clean shutdown, including when ctx ends during the boot delay.
func Run(ctx context.Context, cfg Config) (err error) {
	log := cfg.logger().With("instance", cfg.InstanceID)
	if cfg.Listener != nil {
		defer func() {
			if err != nil {
				cfg.Listener.Close()
			}
		}()
	}
	if cfg.BootDelay > 0 {
		log.Info("booting", "delay", cfg.BootDelay)
		t := time.NewTimer(cfg.BootDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			if cfg.Listener != nil {
				cfg.Listener.Close()
			}
			return nil
		case <-t.C:
		}
	}

	if err := CheckCart(cfg.Cart); err != nil {
		return fmt.Errorf("todo: %w", err)
	}
	store, kind, err := openRepo(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Warn("closing the store", "err", err)
		}
	}()

	ln := cfg.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("todo: listen: %w", err)
		}
	}

	srv := &http.Server{
		Handler:           NewHandler(store, cfg),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Request contexts deliberately do not derive from ctx: cancelling
		// ctx starts a graceful shutdown, it does not abort requests.
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("simplydone listening", "addr", ln.Addr().String(), "zone", cfg.Zone,
		"store", kind, "cart", cmp.Or(cfg.Cart, CartMemory), "cpu_cost", cfg.CPUCost)

	select {
	case err := <-served:
		return fmt.Errorf("todo: serve: %w", err)
	case <-ctx.Done():
	}

	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	log.Info("shutting down", "timeout", timeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		<-served
		return fmt.Errorf("todo: in-flight requests outlived the %v shutdown timeout: %w", timeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("todo: serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
