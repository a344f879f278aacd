package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simplydone/lab/internal/capfile"
	"github.com/simplydone/lab/promexport"
	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/sim/alb"
)

// observe is what lets a person watch a run from outside: the load
// balancer's access log in the run directory and a Prometheus endpoint on
// loopback.
type observe struct {
	accessLog *os.File
	capped    *capfile.Writer // the access log, capped at capfile.Limit per run
	prom      *promexport.Server
}

// openAccessLog points the load balancer's access log at RUN_DIR/access.log,
// capped at capfile.Limit (a note line ends it when it reaches the cap).
func (l *Lab) openAccessLog(cfg *alb.Config) error {
	w, f, err := capfile.Open(filepath.Join(l.Dir, rundir.AccessLogFile), capfile.Limit)
	if err != nil {
		return fmt.Errorf("create access log: %w", err)
	}
	l.obs.accessLog, l.obs.capped = f, w
	cfg.AccessLog = w
	cfg.Name = l.opts.Stack.Name
	return nil
}

// startPrometheus serves the load balancer's metrics on a free loopback
// port, writes the URL to RUN_DIR/prometheus.url and announces it.
func (l *Lab) startPrometheus() error {
	var extra []prometheus.Collector
	if l.DB != nil {
		extra = append(extra, promexport.NewDBCollector(l))
	}
	s, err := promexport.Listen(l.LB, extra...)
	if err != nil {
		return err
	}
	l.obs.prom = s
	if err := os.WriteFile(filepath.Join(l.Dir, rundir.PrometheusFile), []byte(s.URL()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", rundir.PrometheusFile, err)
	}
	l.Bus.Publish(MetricsEndpoint{URL: s.URL(), RDS: l.DB != nil})
	return nil
}

// MetricsURL is the run's Prometheus endpoint ("" before it is up).
func (l *Lab) MetricsURL() string {
	if l.obs.prom == nil {
		return ""
	}
	return l.obs.prom.URL()
}

// closeObserve stops the endpoint; called after the load balancer has
// closed (and so flushed its access log).
func (l *Lab) closeObserve() error {
	var errs []error
	if l.obs.prom != nil {
		errs = append(errs, l.obs.prom.Close())
		os.Remove(filepath.Join(l.Dir, rundir.PrometheusFile)) // the URL is dead now
	}
	if l.obs.accessLog != nil {
		if capped, dropped := l.obs.capped.Capped(); capped {
			l.opts.Logger.Warn("the access log reached its cap", "file", l.obs.accessLog.Name(), "cap", capfile.Size(capfile.Limit), "dropped_bytes", dropped)
		}
		errs = append(errs, l.obs.capped.Err(), l.obs.accessLog.Close())
	}
	return errors.Join(errs...)
}

// MetricsEndpoint says where Prometheus can scrape the run.
type MetricsEndpoint struct {
	URL string `json:"url"`
	RDS bool   `json:"rds,omitempty"` // the data tier's AWS/RDS metrics too
}

func (MetricsEndpoint) Kind() string { return "lab" }
func (e MetricsEndpoint) Message() string {
	names := "AWS/ApplicationELB names"
	if e.RDS {
		names = "AWS/ApplicationELB and AWS/RDS names"
	}
	return fmt.Sprintf("Prometheus metrics (%s): %s", names, e.URL)
}
