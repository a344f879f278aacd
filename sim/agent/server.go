package agent

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/internal/buildinfo"
	"github.com/simplydone/lab/sim/az"
)

// RuntimeFactory makes the runtime of one run on the agent's host: driver
// is "process" or "docker", dir the run's directory there. cmd/lab
// supplies it (this package imports no runtime).
type RuntimeFactory func(ctx context.Context, runID, driver string, dir string) (az.Runtime, error)

// NetCutter cuts this host off the network between hosts and gives back
// the function that restores it.
type NetCutter interface {
	Cut(ctx context.Context) (restore func() error, err error)
}

// Joiner joins this agent to the controller's agents' cluster for a run
// (cmd/lab backs it with sim/entry.JoinAgents); leave is called when the
// run ends.
type Joiner func(ctx context.Context, j JoinSpec) (leave func() error, err error)

// DefaultLease is how long the agent waits for a renewal before its
// dead-man switch reverts the run's faults (wall time).
const DefaultLease = 15 * time.Second

// Config is an agent's.
type Config struct {
	Token      []byte
	Subnet     netip.Prefix // the zone's subnet on this host
	Dir        string       // where run directories go on this host
	NewRuntime RuntimeFactory
	Drivers    []string // what NewRuntime can make, for Info (default: process)
	// Lease: no renewal from the controller this long and the agent
	// reverts the run's faults; 10 leases and it ends the run.
	// Default DefaultLease.
	Lease  time.Duration
	Clock  clock.Clock // wall clock (leases are wall time); default clock.Real()
	Logger *slog.Logger
	Cut    NetCutter // optional: nil, and a cut is refused
	Join   Joiner    // optional: nil, and an Open that asks to join is refused
	// LoadDial resolves a load share's load balancer name (load.go);
	// optional: nil, and only shares with loopback address targets run.
	LoadDial LoadDialer
	// NewNode makes the zone's load-balancer node (node.go); optional: nil,
	// and a node open is refused.
	NewNode NodeFactory
	// KeepDataDir: the agent runs in the controller's process, on its host
	// (one host's default, cmd/lab/inprocess.go): an instance keeps the data directory
	// the controller gave it (the run's one store) instead of the run's
	// directory here.
	KeepDataDir bool
}

// Server is a lab agent: it runs one run's instances at a time on this
// host for a controller that holds the same token.
type Server struct {
	cfg  Config
	log  *slog.Logger
	clk  clock.Clock
	tls  *tls.Config
	auth []byte // the bearer credential clients must send
	http *http.Server
	host string

	opening sync.Mutex     // one open at a time
	ending  sync.WaitGroup // runs not yet fully ended (the watch may be ending one)

	mu     sync.Mutex
	run    *run // the open run; nil when none
	closed bool
}

// NewServer checks cfg and makes the agent's certificate from its token.
func NewServer(cfg Config) (*Server, error) {
	if len(cfg.Token) != TokenSize {
		return nil, fmt.Errorf("agent: token of %d bytes, want %d", len(cfg.Token), TokenSize)
	}
	if !cfg.Subnet.IsValid() {
		return nil, errors.New("agent: no subnet (--subnet CIDR, e.g. 169.254.1.0/24)")
	}
	if cfg.Dir == "" {
		return nil, errors.New("agent: no directory for run directories")
	}
	if cfg.NewRuntime == nil {
		return nil, errors.New("agent: no runtime factory")
	}
	if len(cfg.Drivers) == 0 {
		cfg.Drivers = []string{"process"}
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tc, err := serverTLS(cfg.Token, time.Now())
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	s := &Server{cfg: cfg, log: cfg.Logger, clk: cfg.Clock, tls: tc, auth: []byte(bearer(cfg.Token)), host: host}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(handshakeLog{s.log}, "", 0),
	}
	return s, nil
}

// Serve answers on ln until Close; TLS is done here. It returns nil after
// Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(tls.NewListener(ln, s.tls))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close ends the open run (its faults reverted, its instances terminated)
// and stops serving. Safe to call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	r := s.run
	s.run = nil
	s.mu.Unlock()
	var err error
	if r != nil {
		err = r.end("the agent is shutting down", false)
	}
	s.ending.Wait() // a run the dead-man is ending ends before the agent does
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e := s.http.Shutdown(ctx); e != nil {
		s.http.Close()
	}
	return err
}

// Info is what the agent says of itself.
func (s *Server) Info() Info {
	in := Info{Host: s.host, Subnet: s.cfg.Subnet, Drivers: s.cfg.Drivers, Version: buildinfo.Read().Version}
	s.mu.Lock()
	if s.run != nil {
		in.Run = s.run.id
	}
	s.mu.Unlock()
	return in
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, s.Info()) })
	s.runRoutes(mux)
	s.nodeRoutes(mux)
	return s.authenticate(mux)
}

// authenticate refuses a request without the token's credential. The
// comparison takes the same time whatever the credential.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), s.auth) != 1 {
			s.log.Warn("agent: refused a request: its credential is not this agent's token's", "from", r.RemoteAddr, "request", r.Method+" "+r.URL.Path)
			fail(w, http.StatusUnauthorized, codeTokenMismatch, "this agent's token differs from the one the request was made with")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(w, http.StatusInternalServerError, codeFailed, "encode the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(errorBody{Code: code, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// failErr answers err with the code its sentinel has.
func failErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, az.ErrNotFound):
		fail(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, az.ErrIncorrectInstanceState):
		fail(w, http.StatusConflict, codeIncorrectState, err.Error())
	case errors.Is(err, ErrRunNotOpen):
		fail(w, http.StatusNotFound, codeRunNotOpen, err.Error())
	case errors.Is(err, ErrBusy):
		fail(w, http.StatusConflict, codeBusy, err.Error())
	case errors.Is(err, errRefused):
		fail(w, http.StatusBadRequest, codeRefused, err.Error())
	default:
		fail(w, http.StatusInternalServerError, codeFailed, err.Error())
	}
}

// errRefused marks a request the agent will not do as asked.
var errRefused = errors.New("refused")

// handshakeLog turns net/http's TLS handshake lines into the agent's own
// words: a client that refused the certificate holds another token.
type handshakeLog struct{ log *slog.Logger }

func (h handshakeLog) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(line, "TLS handshake error") && strings.Contains(line, "bad certificate"):
		from := ""
		if _, rest, ok := strings.Cut(line, "from "); ok {
			from, _, _ = strings.Cut(rest, ": ")
		}
		h.log.Warn("agent: a client refused this agent's certificate: its token differs from this agent's", "from", from)
	case strings.Contains(line, "TLS handshake error"):
		h.log.Warn("agent: a connection failed its TLS handshake (not a lab client, or another token)", "detail", line)
	default:
		h.log.Warn("agent: http: " + line)
	}
	return len(p), nil
}
