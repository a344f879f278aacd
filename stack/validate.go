package stack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/sim/az"
)

// The values AWS accepts for the enumerated settings.
var (
	algorithms           = []string{"round_robin", "least_outstanding_requests", "weighted_random"}
	crossZoneSettings    = []string{CrossZoneTrue, CrossZoneFalse, CrossZoneUseLBConf}
	onOff                = []string{"on", "off"}
	healthCheckTypes     = []string{"EC2", "ELB"}
	terminationPolicies  = []string{"OldestInstance", "NewestInstance", "OldestLaunchTemplate", "OldestLaunchConfiguration", "ClosestToNextInstanceHour", "AllocationStrategy", "Default"}
	distributionStrategy = []string{"balanced-best-effort", "balanced-only"}
)

var (
	// AWS's rule for load balancer and target group names, which the stack's name becomes.
	validName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks a decoded stack against AWS's rules. Fields that already
// failed to decode are skipped (errf reports one problem per field).
func (p *parser) validate(s *Stack) {
	switch {
	case !p.Has("name"):
		p.Errf("name", "missing; name the stack (1-32 letters, digits and hyphens)")
	case !validName.MatchString(s.Name):
		p.Errf("name", "%q is not a valid name; use 1-32 letters, digits and hyphens, not starting or ending with a hyphen", s.Name)
	}
	p.validateZones(s.Zones)
	p.validateLoadBalancer(s.LoadBalancer)
	p.validateListener(s)
	if !s.MultiService() { // else each service was checked as it was read (services.go)
		p.validateServiceSections(s)
	}
	p.validateCloudWatch(s.CloudWatch)
	p.validateDatabase(s)
	p.validateAlarmDimensions(s)
}

func (p *parser) validateZones(zones []string) {
	path, item := "availability_zones", func(i int) string { return yamlcheck.Index("availability_zones", i) }
	if p.Has("zones") { // zones.go
		path, item = "zones", func(i int) string { return yamlcheck.Index("zones", i) + ".name" }
	}
	switch {
	case len(zones) < 2:
		p.Errf(path, "%d zone(s) given; an ALB needs at least 2", len(zones))
	case len(zones) > az.MaxZones:
		p.Errf(path, "%d zones given; the lab's address plan has room for %d", len(zones), az.MaxZones)
	}
	seen := map[string]bool{}
	for i, z := range zones {
		switch {
		case p.Bad(yamlcheck.Index(path, i)): // a zones: entry that is not a mapping
		case strings.TrimSpace(z) == "":
			p.Errf(item(i), "empty zone name; use names such as us-east-1a")
		case seen[z]:
			p.Errf(item(i), "%s is listed twice; zone names must be unique", z)
		}
		seen[z] = true
	}
}

func (p *parser) validateLoadBalancer(lb LoadBalancer) {
	p.port("load_balancer.listener.port", lb.ListenerPort)
	p.httpOnly("load_balancer.listener.protocol", lb.ListenerProtocol)
	p.durRange("load_balancer.idle_timeout", lb.IdleTimeout, time.Second, 4000*time.Second)
	p.OneOf("load_balancer.desync_mitigation_mode", lb.DesyncMitigationMode, desyncModes)
}

// desyncModes are routing.http.desync_mitigation_mode's values.
var desyncModes = []string{"monitor", "defensive", "strictest"}

func (p *parser) validateTargetGroup(tg TargetGroup) {
	const path = "target_group"
	if p.Has(path + ".port") {
		p.port(path+".port", tg.Port)
	} else {
		p.Errf(path+".port", "missing; give the port targets listen on (1-65535), as AWS requires")
	}
	p.httpOnly(path+".protocol", tg.Protocol)
	algorithmOK := p.OneOf(path+".load_balancing_algorithm_type", tg.Algorithm, algorithms)
	p.OneOf(path+".load_balancing_cross_zone_enabled", tg.CrossZone, crossZoneSettings)
	p.durRange(path+".deregistration_delay", tg.DeregistrationDelay, 0, 3600*time.Second)
	switch ss := tg.SlowStart; {
	case ss == 0:
	case ss < 30*time.Second || ss > 900*time.Second:
		p.Errf(path+".slow_start", "%s is not allowed; use 0 (off) or 30s to 900s", fmtDur(ss))
	case algorithmOK && tg.Algorithm != "round_robin":
		p.Errf(path+".slow_start", "slow start is not available with %s; use 0 or the round_robin algorithm", tg.Algorithm)
	}

	if p.OneOf(path+".load_balancing_anomaly_mitigation", tg.AnomalyMitigation, onOff) &&
		algorithmOK && tg.AnomalyMitigationEnabled() && tg.Algorithm != "weighted_random" {
		p.Errf(path+".load_balancing_anomaly_mitigation", "anomaly mitigation is not available with %s; use off or the weighted_random algorithm", tg.Algorithm)
	}
	p.validateTargetGroupHealth(path+".target_group_health", tg.Health)

	const hpath = path + ".health_check"
	hc := tg.HealthCheck
	if !strings.HasPrefix(hc.Path, "/") || len(hc.Path) > 1024 {
		p.Errf(hpath+".path", "%q is not allowed; use a path that starts with / (at most 1024 characters)", hc.Path)
	}
	if n, err := strconv.Atoi(hc.Port); hc.Port != "traffic-port" && (err != nil || n < 1 || n > 65535) {
		p.Errf(hpath+".port", "%q is not allowed; use traffic-port or a port number 1-65535", hc.Port)
	}
	p.httpOnly(hpath+".protocol", hc.Protocol)
	p.durRange(hpath+".interval", hc.Interval, 5*time.Second, 300*time.Second)
	p.durRange(hpath+".timeout", hc.Timeout, 2*time.Second, 120*time.Second)
	if hc.Timeout >= hc.Interval && !p.Bad(hpath+".interval") {
		p.Errf(hpath+".timeout", "%s is not below the interval (%s); AWS needs timeout < interval", fmtDur(hc.Timeout), fmtDur(hc.Interval))
	}
	p.intRange(hpath+".healthy_threshold", hc.HealthyThreshold, 2, 10)
	p.intRange(hpath+".unhealthy_threshold", hc.UnhealthyThreshold, 2, 10)
	if msg := checkMatcher(hc.Matcher); msg != "" {
		p.Errf(hpath+".matcher", "%s", msg)
	}
}

// validateTargetGroupHealth checks AWS's rules across the thresholds: the
// routing failover count cannot be off, and where the file sets a threshold
// for both actions, DNS failover's must be at least routing failover's.
func (p *parser) validateTargetGroupHealth(path string, h TargetGroupHealth) {
	rpath, dpath := path+".unhealthy_state_routing", path+".dns_failover"
	const count, pct = ".minimum_healthy_targets_count", ".minimum_healthy_targets_percentage"
	if h.UnhealthyStateRouting.Count == 0 && !p.Bad(rpath+count) {
		p.Errf(rpath+count, "off is not allowed for routing failover; use a whole number from 1 (the default)")
	}
	both := func(suffix string) bool {
		return p.Has(rpath+suffix) && p.Has(dpath+suffix) && !p.Bad(rpath+suffix) && !p.Bad(dpath+suffix)
	}
	r, d := h.UnhealthyStateRouting, h.DNSFailover
	if both(count) && d.Count != 0 && d.Count < r.Count {
		p.Errf(dpath+count, "%d is below unhealthy_state_routing's %d; the DNS failover threshold must be greater than or equal to the routing failover threshold", d.Count, r.Count)
	}
	if both(pct) && d.Percentage != 0 && r.Percentage != 0 && d.Percentage < r.Percentage {
		p.Errf(dpath+pct, "%d is below unhealthy_state_routing's %d; the DNS failover threshold must be greater than or equal to the routing failover threshold", d.Percentage, r.Percentage)
	}
}

// checkMatcher explains what is wrong with a success-code matcher, or returns "".
func checkMatcher(s string) string {
	ranges, err := parseMatcher(s)
	if err != nil {
		return fmt.Sprintf("%q is not a list of codes; use codes 200-499 as in 200, 200,202 or 200-299", s)
	}
	for _, r := range ranges {
		switch {
		case r[0] < 200 || r[1] > 499:
			return fmt.Sprintf("%q has codes outside 200-499; AWS allows 200-499 for HTTP", s)
		case r[0] > r[1]:
			return fmt.Sprintf("%q has the range %d-%d backwards; write the low code first", s, r[0], r[1])
		}
	}
	return ""
}

func (p *parser) validateLaunchTemplate(lt LaunchTemplate) {
	const path = "launch_template"
	hasCmd, hasImage := p.Has(path+".command"), p.Has(path+".image")
	switch {
	case hasCmd && hasImage:
		p.Errf(path+".image", "given with command; use one: command (process runtime) or image (Docker runtime)")
	case !hasCmd && !hasImage:
		p.Errf(path+".command", "missing; give a command to run (or an image for the Docker runtime)")
	case hasCmd && len(lt.Command) == 0:
		p.Errf(path+".command", "empty; give the program and its arguments, as in [simplydone]")
	case hasImage && lt.Image == "":
		p.Errf(path+".image", "empty; give an image name")
	}
	for i, arg := range lt.Command {
		if i == 0 && arg == "" {
			p.Errf(yamlcheck.Index(path+".command", i), "empty program name; give the program to run")
		}
	}
	if _, ok := az.LookupInstanceType(lt.InstanceType); !ok {
		p.Errf(path+".instance_type", "%s", yamlcheck.OneOfMsg(lt.InstanceType, az.InstanceTypeNames()))
	}
	if p.Has(path + ".port") {
		p.port(path+".port", lt.Port) // otherwise it is target_group.port, checked there
	}
	for name := range lt.Environment {
		field := yamlcheck.Sub(path+".environment", name)
		switch {
		case !envName.MatchString(name):
			p.Errf(field, "%q is not a variable name; use letters, digits and _, not starting with a digit", name)
		case strings.HasPrefix(name, "LAB_"):
			p.Errf(field, "LAB_ is reserved for the variables the lab sets (LAB_ADDR, LAB_PORT, ...); pick another name")
		}
	}
	if lt.BootTime < 0 {
		p.Errf(path+".boot_time", "%s is negative; use 0 or more", lt.BootTime)
	}
	if lt.PendingTime < 0 {
		p.Errf(path+".pending_time", "%s is negative; use 0 or more (EC2's pending-to-running time; default %s, observed)", lt.PendingTime, DefaultPendingTime)
	}
}

func (p *parser) validateGroup(g AutoScalingGroup) {
	const path = "auto_scaling_group"
	minOK, maxOK := p.Has(path+".min_size"), p.Has(path+".max_size")
	if !minOK {
		p.Errf(path+".min_size", "missing; AWS requires the group's minimum size (0 or more)")
	}
	if !maxOK {
		p.Errf(path+".max_size", "missing; AWS requires the group's maximum size (1 or more)")
	}
	minOK = minOK && !p.Bad(path+".min_size") && p.intRange(path+".min_size", g.MinSize, 0, -1)
	maxOK = maxOK && !p.Bad(path+".max_size") && p.intRange(path+".max_size", g.MaxSize, 1, -1) && p.hostRange(path+".max_size", g.MaxSize)
	if minOK && maxOK {
		if g.MinSize > g.MaxSize {
			p.Errf(path+".min_size", "%d is above max_size (%d); AWS needs min_size <= desired_capacity <= max_size", g.MinSize, g.MaxSize)
		} else if g.DesiredCapacity < g.MinSize {
			p.Errf(path+".desired_capacity", "%d is below min_size (%d); AWS needs min_size <= desired_capacity <= max_size", g.DesiredCapacity, g.MinSize)
		} else if g.DesiredCapacity > g.MaxSize {
			p.Errf(path+".desired_capacity", "%d is above max_size (%d); AWS needs min_size <= desired_capacity <= max_size", g.DesiredCapacity, g.MaxSize)
		}
	}
	p.OneOf(path+".health_check_type", g.HealthCheckType, healthCheckTypes)
	p.durRange(path+".health_check_grace_period", g.HealthCheckGracePeriod, 0, -1)
	p.durRange(path+".default_cooldown", g.DefaultCooldown, 0, -1)
	if g.DefaultInstanceWarmup != nil {
		p.durRange(path+".default_instance_warmup", *g.DefaultInstanceWarmup, 0, 3600*time.Second)
	}
	tpath := path + ".termination_policies"
	seen := map[string]bool{}
	for i, tp := range g.TerminationPolicies {
		field := yamlcheck.Index(tpath, i)
		switch {
		case !p.OneOf(field, tp, terminationPolicies):
		case seen[tp]:
			p.Errf(field, "%s is listed twice; list each policy once", tp)
		case tp == "Default" && i != len(g.TerminationPolicies)-1:
			p.Errf(field, "Default must come last; AWS evaluates the policies in order")
		}
		seen[tp] = true
	}
	p.OneOf(path+".capacity_distribution_strategy", g.CapacityDistributionStrategy, distributionStrategy)
}

// port checks a port number.
func (p *parser) port(field string, n int) {
	if n < 1 || n > 65535 {
		p.Errf(field, "%d is not a port; use 1-65535", n)
	}
}

// httpOnly checks a protocol: AWS also allows HTTPS, but the lab does not terminate TLS.
func (p *parser) httpOnly(field, proto string) {
	if proto != "HTTP" {
		p.Errf(field, "%q is not supported; use HTTP (the lab does not terminate TLS)", proto)
	}
}

// intRange checks lo <= v <= hi (hi < 0: no maximum) and reports whether it holds.
func (p *parser) intRange(field string, v, lo, hi int) bool {
	switch {
	case v < lo:
		p.Errf(field, "%d is below AWS's minimum of %d", v, lo)
	case hi >= 0 && v > hi:
		p.Errf(field, "%d is above AWS's maximum of %d", v, hi)
	default:
		return true
	}
	return false
}

// MaxInstances is the host's limit on a group's size: every instance is a
// process or container on this machine, with its own loopback address and
// memory. AWS sets no maximum of its own for max_size; what bounds a group
// there is the account's EC2 vCPU quota.
const MaxInstances = 100

// hostRange checks that a count of instances fits on this host.
func (p *parser) hostRange(field string, v int) bool {
	if v > MaxInstances {
		p.Errf(field, "%d is above the lab's maximum of %d: every instance runs on this host (AWS's own bound is the account's EC2 vCPU quota)", v, MaxInstances)
		return false
	}
	return true
}

// durRange checks lo <= d <= hi (hi < 0: no maximum).
func (p *parser) durRange(field string, d, lo, hi time.Duration) {
	switch {
	case d < lo:
		p.Errf(field, "%s is below AWS's minimum of %s", fmtDur(d), fmtDur(lo))
	case hi >= 0 && d > hi:
		p.Errf(field, "%s is above AWS's maximum of %s", fmtDur(d), fmtDur(hi))
	}
}

// fmtDur writes a duration the way AWS counts it: whole seconds as "300s".
func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
