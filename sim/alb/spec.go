package alb

import (
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Spec is the data part of a Config: everything but the clock, the event
// publisher, the logger, the probers, the dial guard, the dial and the
// access log's writer. It is plain data that survives JSON, so a
// controller can send a lab agent exactly the configuration it would use
// itself for a node the agent serves (issue 20: a zone's node on its
// agent's host). SpecOf and Spec.Config are each other's inverse on those
// fields (spec_test.go).
type Spec struct {
	Zones                   []az.Zone          `json:"zones"`
	Port                    int                `json:"port"`
	IdleTimeout             time.Duration      `json:"idle_timeout"`
	DeregistrationDelay     time.Duration      `json:"deregistration_delay"`
	CrossZone               bool               `json:"cross_zone"`
	ConnectTimeout          time.Duration      `json:"connect_timeout"`
	HealthCheck             HealthCheckSpec    `json:"health_check"`
	Algorithm               string             `json:"algorithm,omitempty"`
	SlowStart               time.Duration      `json:"slow_start,omitempty"`
	TargetGroupHealth       *TargetGroupHealth `json:"target_group_health,omitempty"`
	AnomalyMitigation       bool               `json:"anomaly_mitigation,omitempty"`
	Seed                    uint64             `json:"seed,omitempty"`
	Name                    string             `json:"name,omitempty"`
	ClientKeepAlive         time.Duration      `json:"client_keep_alive,omitempty"`
	AccessLog               bool               `json:"access_log,omitempty"` // the node writes one
	DesyncMitigationMode    string             `json:"desync_mitigation_mode,omitempty"`
	DropInvalidHeaderFields bool               `json:"drop_invalid_header_fields,omitempty"`
	MaxClientConns          int                `json:"max_client_conns,omitempty"`
	Rules                   []Rule             `json:"rules,omitempty"`
	DefaultAction           *RuleAction        `json:"default_action,omitempty"`
	TargetGroupName         string             `json:"target_group_name,omitempty"`
	TargetGroups            []TargetGroupSpec  `json:"target_groups,omitempty"`
	Stickiness              Stickiness         `json:"stickiness"`
	GoroutineFront          bool               `json:"goroutine_front,omitempty"`
}

// HealthCheckSpec is a HealthCheck as data: its matcher as the inclusive
// ranges of status codes (100-599) it accepts.
type HealthCheckSpec struct {
	Path       string        `json:"path"`
	Interval   time.Duration `json:"interval"`
	Timeout    time.Duration `json:"timeout"`
	Thresholds Thresholds    `json:"thresholds"`
	Matcher    [][2]int      `json:"matcher,omitempty"` // nil: Matches was nil
}

// TargetGroupSpec is a TargetGroupConfig as data (its prober is the
// node's own HTTP checks).
type TargetGroupSpec struct {
	Name        string          `json:"name"`
	HealthCheck HealthCheckSpec `json:"health_check"`
}

// The status codes a matcher is read over: every code an HTTP response
// may carry.
const minCode, maxCode = 100, 599

// SpecOf is cfg's data part.
func SpecOf(cfg Config) Spec {
	s := Spec{
		Zones: cfg.Zones, Port: cfg.Port, IdleTimeout: cfg.IdleTimeout,
		DeregistrationDelay: cfg.DeregistrationDelay, CrossZone: cfg.CrossZone,
		ConnectTimeout: cfg.ConnectTimeout, HealthCheck: healthCheckSpec(cfg.HealthCheck),
		Algorithm: cfg.Algorithm, SlowStart: cfg.SlowStart, TargetGroupHealth: cfg.TargetGroupHealth,
		AnomalyMitigation: cfg.AnomalyMitigation, Seed: cfg.Seed, Name: cfg.Name,
		ClientKeepAlive: cfg.ClientKeepAlive, AccessLog: cfg.AccessLog != nil,
		DesyncMitigationMode: cfg.DesyncMitigationMode, DropInvalidHeaderFields: cfg.DropInvalidHeaderFields,
		MaxClientConns: cfg.MaxClientConns, Rules: cfg.Rules, DefaultAction: cfg.DefaultAction,
		TargetGroupName: cfg.TargetGroupName, Stickiness: cfg.Stickiness, GoroutineFront: cfg.GoroutineFront,
	}
	for _, g := range cfg.TargetGroups {
		s.TargetGroups = append(s.TargetGroups, TargetGroupSpec{Name: g.Name, HealthCheck: healthCheckSpec(g.HealthCheck)})
	}
	return s
}

// Config is the configuration s describes, without the parts that are
// not data: the caller sets Clock, Events and the rest, and AccessLog
// when s.AccessLog says the node writes one.
func (s Spec) Config() Config {
	c := Config{
		Zones: s.Zones, Port: s.Port, IdleTimeout: s.IdleTimeout,
		DeregistrationDelay: s.DeregistrationDelay, CrossZone: s.CrossZone,
		ConnectTimeout: s.ConnectTimeout, HealthCheck: s.HealthCheck.healthCheck(),
		Algorithm: s.Algorithm, SlowStart: s.SlowStart, TargetGroupHealth: s.TargetGroupHealth,
		AnomalyMitigation: s.AnomalyMitigation, Seed: s.Seed, Name: s.Name,
		ClientKeepAlive: s.ClientKeepAlive, DesyncMitigationMode: s.DesyncMitigationMode,
		DropInvalidHeaderFields: s.DropInvalidHeaderFields, MaxClientConns: s.MaxClientConns,
		Rules: s.Rules, DefaultAction: s.DefaultAction, TargetGroupName: s.TargetGroupName,
		Stickiness: s.Stickiness, GoroutineFront: s.GoroutineFront,
	}
	for _, g := range s.TargetGroups {
		c.TargetGroups = append(c.TargetGroups, TargetGroupConfig{Name: g.Name, HealthCheck: g.HealthCheck.healthCheck()})
	}
	return c
}

func healthCheckSpec(h HealthCheck) HealthCheckSpec {
	s := HealthCheckSpec{Path: h.Path, Interval: h.Interval, Timeout: h.Timeout, Thresholds: h.Thresholds}
	if h.Matches == nil {
		return s
	}
	s.Matcher = [][2]int{}
	for code := minCode; code <= maxCode; code++ {
		if !h.Matches(code) {
			continue
		}
		if n := len(s.Matcher); n > 0 && s.Matcher[n-1][1] == code-1 {
			s.Matcher[n-1][1] = code
		} else {
			s.Matcher = append(s.Matcher, [2]int{code, code})
		}
	}
	return s
}

func (s HealthCheckSpec) healthCheck() HealthCheck {
	h := HealthCheck{Path: s.Path, Interval: s.Interval, Timeout: s.Timeout, Thresholds: s.Thresholds}
	if s.Matcher == nil {
		return h
	}
	ranges := s.Matcher
	h.Matches = func(code int) bool {
		for _, r := range ranges {
			if code >= r[0] && code <= r[1] {
				return true
			}
		}
		return false
	}
	return h
}
