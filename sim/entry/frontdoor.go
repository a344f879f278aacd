package entry

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

// DefaultFrontDoor is the stable URL's address when it is free.
const DefaultFrontDoor = "127.0.0.1:8080"

// FrontDoor is the stable URL for people: it resolves and dials the load
// balancer's name as a browser does (answers cached per TTL, the next
// address tried when one refuses) and forwards each request. It stands for
// the person's browser, not for any AWS component.
type FrontDoor struct {
	srv *http.Server
	ln  net.Listener
	tr  *http.Transport
	wg  sync.WaitGroup
}

// FrontDoorConfig configures the front door.
type FrontDoorConfig struct {
	Addr   string // where to listen; DefaultFrontDoor when empty; a free port if taken
	Target string // the load balancer's name and listener port (name:port)
	Dialer *Dialer
	Logger *slog.Logger
	// IdleTimeout closes a browser's keep-alive connection after that long
	// without a request (wall time); DefaultFrontDoorIdle when zero.
	IdleTimeout time.Duration
}

// DefaultFrontDoorIdle is the stable URL's idle timeout: the ALB's default
// idle timeout, so a browser's idle connections do not pile up on it.
const DefaultFrontDoorIdle = 60 * time.Second

// StartFrontDoor listens and serves until Close.
func StartFrontDoor(cfg FrontDoorConfig) (*FrontDoor, error) {
	if cfg.Dialer == nil || cfg.Target == "" {
		return nil, errors.New("front door: a dialer and a target are required")
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultFrontDoor
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, fmt.Errorf("front door: listen on %s: %w", addr, err)
		}
	}
	f := &FrontDoor{ln: ln, tr: &http.Transport{
		DialContext:         cfg.Dialer.DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	errorLog := log.New(discard{}, "", 0)
	if cfg.Logger != nil {
		errorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = cfg.Target
			pr.Out.Host = pr.In.Host // as typed: the browser's own Host header
		},
		Transport: f.tr,
		ErrorLog:  errorLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			http.Error(w, fmt.Sprintf("This site can't be reached: %s (%v)", cfg.Target, err), http.StatusBadGateway)
		},
	}
	idle := cfg.IdleTimeout
	if idle <= 0 {
		idle = DefaultFrontDoorIdle
	}
	f.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle, MaxHeaderBytes: 64 << 10, ErrorLog: errorLog}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.srv.Serve(ln)
	}()
	return f, nil
}

// URL is the stable URL: http://127.0.0.1:PORT/.
func (f *FrontDoor) URL() string { return "http://" + f.ln.Addr().String() + "/" }

// Close stops serving. Safe to call twice.
func (f *FrontDoor) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	f.wg.Wait()
	f.tr.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("front door: shut down: %w", err)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
