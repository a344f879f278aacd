package stack

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// Several services behind one load balancer (issue 16, item 2). A stack
// without services: is one service, named as the stack, made of its
// top-level target_group, launch_template, auto_scaling_group,
// scaling_policies and scheduled_actions, exactly as before. A stack with
// services: gives each service those five sections of its own, and leaves
// them out at the top level:
//
//	services:
//	  - name: api                 # the target group's and the Auto Scaling group's name
//	    target_group: {port: 8080, health_check: {path: /health}}
//	    launch_template: {command: [simplydone]}
//	    auto_scaling_group: {min_size: 2, max_size: 6}
//	    scaling_policies: [...]
//	    scheduled_actions: [...]
//	  - name: listing
//	    ...
//
// Listener rules forward to a service's target group by its name; the
// default action, when the stack gives none, forwards to the first
// service's. Each service has its own Auto Scaling group, its instances
// run its own launch template, and its policies' alarms read its own
// metrics (AutoScalingGroupName, TargetGroup).

// Service is one service of the stack: a target group, and the Auto
// Scaling group (with its launch template and policies) whose instances
// are its targets.
type Service struct {
	Name             string // the target group's and the Auto Scaling group's name
	TargetGroup      TargetGroup
	LaunchTemplate   LaunchTemplate
	AutoScalingGroup AutoScalingGroup
	ScalingPolicies  []ScalingPolicy
	ScheduledActions []ScheduledAction
}

// MaxServices is how many services a stack may have: AWS's quota of target
// groups per action's load balancer is 100 (Quotas for your Application
// Load Balancers: target groups per load balancer); the lab bounds it
// lower, since every service runs its own group on this host.
const MaxServices = 10

// MaxTargetGroupsPerLoadBalancer is AWS's quota (it can be raised; the
// lab's MaxServices is lower).
const MaxTargetGroupsPerLoadBalancer = 100

// serviceKeys are the keys of one service.
var serviceKeys = []string{"name", "target_group", "launch_template", "auto_scaling_group", "scaling_policies", "scheduled_actions"}

// perService are the top-level keys that a stack with services gives per
// service instead.
var perService = []string{"target_group", "launch_template", "auto_scaling_group", "scaling_policies", "scheduled_actions"}

// MultiService reports whether the stack lists services of its own.
func (s *Stack) MultiService() bool { return len(s.Services) > 0 }

// ServiceList is the stack's services: its services: list, or the one
// service its top-level sections make, named as the stack.
func (s *Stack) ServiceList() []Service {
	if len(s.Services) > 0 {
		return s.Services
	}
	return []Service{{Name: s.Name, TargetGroup: s.TargetGroup, LaunchTemplate: s.LaunchTemplate,
		AutoScalingGroup: s.AutoScalingGroup, ScalingPolicies: s.ScalingPolicies, ScheduledActions: s.ScheduledActions}}
}

// ServiceStack is the stack as service i sees it: the stack's own sections
// with the service's target group, launch template, group and policies,
// named as the service. A stack without services is its own only service
// (the same pointer).
func (s *Stack) ServiceStack(i int) *Stack {
	if len(s.Services) == 0 {
		return s
	}
	c := *s
	sv := s.Services[i]
	c.Name = sv.Name
	c.TargetGroup, c.LaunchTemplate, c.AutoScalingGroup = sv.TargetGroup, sv.LaunchTemplate, sv.AutoScalingGroup
	c.ScalingPolicies, c.ScheduledActions = sv.ScalingPolicies, sv.ScheduledActions
	c.Services = nil
	return &c
}

// services reads services: each service is read as a stack document of its
// own (its five sections under the service's name), so that every
// default and rule of a single-service stack holds for it; its problems are
// reported under services[N]. The first service's sections become the
// stack's top-level ones, for what reads one group.
func (p *parser) services(m map[string]*yaml.Node, s *Stack) {
	const path = "services"
	list := p.List(m["services"], path)
	if m["services"] == nil {
		return
	}
	for _, k := range perService {
		if m[k] != nil {
			p.ErrAt(m[k], k, "given with services; a stack with services gives each service its own %s (move it into a service)", k)
		}
	}
	if len(list) == 0 {
		p.Errf(path, "empty; list at least one service (name, target_group, launch_template, auto_scaling_group), or leave services out")
		return
	}
	if len(list) > MaxServices {
		p.Errf(path, "%d services given; the lab runs at most %d (each its own target group and Auto Scaling group on this host; AWS allows %d target groups per load balancer)", len(list), MaxServices, MaxTargetGroupsPerLoadBalancer)
	}
	seen := map[string]int{}
	for i, n := range list {
		ipath := yamlcheck.Index(path, i)
		sm := p.Mapping(n, ipath, serviceKeys...)
		if sm == nil {
			continue
		}
		if sm["name"] == nil {
			p.Errf(ipath+".name", "missing; name the service (its target group's and Auto Scaling group's name: 1-32 letters, digits and hyphens)")
		} else if j, dup := seen[sm["name"].Value]; dup {
			p.ErrAt(sm["name"], ipath+".name", "%q is already the name of services[%d]; target group names must be unique", sm["name"].Value, j)
		} else {
			seen[sm["name"].Value] = i
		}
		root := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
		for _, k := range serviceKeys {
			if sm[k] != nil {
				root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: sm[k].Line, Column: sm[k].Column}, sm[k])
			}
		}
		sub := parser{Parser: yamlcheck.NewParser(p.file), file: p.file}
		one := defaults()
		one.Zones = s.Zones
		if sub.decodeStack(root, one) {
			sub.deriveDefaults(one)
			sub.validateService(one)
		}
		if err, ok := sub.Err().(*yamlcheck.Errors); ok && err != nil {
			p.Adopt(ipath, err.List)
		}
		s.Services = append(s.Services, Service{Name: one.Name, TargetGroup: one.TargetGroup, LaunchTemplate: one.LaunchTemplate,
			AutoScalingGroup: one.AutoScalingGroup, ScalingPolicies: one.ScalingPolicies, ScheduledActions: one.ScheduledActions})
	}
	if len(s.Services) == 0 { // no entry was a mapping: each is an error already
		return
	}
	first := s.Services[0]
	s.TargetGroup, s.LaunchTemplate, s.AutoScalingGroup = first.TargetGroup, first.LaunchTemplate, first.AutoScalingGroup
	s.ScalingPolicies, s.ScheduledActions = first.ScalingPolicies, first.ScheduledActions
	p.validateServicesShare(s)
}

// TargetGroupALBMetrics are the AWS/ApplicationELB metrics the lab's load
// balancer publishes per target group (LoadBalancer, TargetGroup) on a
// stack with services (sim/alb's MetricPublisher.publishGroups): what a
// service's alarm, or a blue-green rollback alarm, can watch.
var TargetGroupALBMetrics = []string{"HTTPCode_Target_5XX_Count", "HealthyHostCount", "RequestCount", "RequestCountPerTarget", "UnHealthyHostCount"}

// validateService checks one service as validate checks a one-service
// stack's own sections.
func (p *parser) validateService(s *Stack) {
	if p.Has("name") && !validName.MatchString(s.Name) {
		p.Errf("name", "%q is not a valid name; use 1-32 letters, digits and hyphens, not starting or ending with a hyphen (AWS's rule for target group names)", s.Name)
	}
	p.validateServiceSections(s)
}

// validateServiceSections checks the sections a service has of its own:
// its target group, launch template, group, policies and schedules.
func (p *parser) validateServiceSections(s *Stack) {
	p.validateTargetGroup(s.TargetGroup)
	p.validateStickiness(s.TargetGroup)
	p.validateLaunchTemplate(s.LaunchTemplate)
	p.validateVersions(s.LaunchTemplate)
	p.validateGroup(s.AutoScalingGroup)
	p.validateMaintenancePolicy(s.AutoScalingGroup.InstanceMaintenancePolicy)
	p.validateHooks(s.AutoScalingGroup.LifecycleHooks)
	p.validateWarmPool(s)
	p.validateScheduled(s.ScheduledActions)
	p.validatePolicies(s.ScalingPolicies)
	p.validateMonitoring(s.LaunchTemplate)
	p.validateQuotas(s)
}

// validateServicesShare checks what the lab's load balancer holds once for
// all its target groups: the routing algorithm, cross-zone, slow start,
// deregistration delay, target group health, anomaly mitigation and
// stickiness are the first service's for every target group (each
// service's health check, port and group are its own). A service that
// sets one otherwise is refused rather than silently run with the first's.
// The host bounds the services' instances together.
func (p *parser) validateServicesShare(s *Stack) {
	first := s.Services[0].TargetGroup
	total := 0
	for i, sv := range s.Services[1:] {
		if m := sv.LaunchTemplate.Monitoring; m != s.Services[0].LaunchTemplate.Monitoring {
			p.Errf(yamlcheck.Index("services", i+1)+".launch_template.monitoring", "%s differs from services[0]'s %s; the lab publishes AWS/EC2 at one resolution for the stack: give every service the same", m, s.Services[0].LaunchTemplate.Monitoring)
		}
	}
	policyOf := map[string]int{}
	for i, sv := range s.Services {
		for j, sp := range sv.ScalingPolicies {
			if a := sp.Alarm; a != nil && sp.PolicyType != TargetTrackingScaling && a.Namespace == NamespaceALB && !slices.Contains(TargetGroupALBMetrics, a.MetricName) {
				p.Errf(yamlcheck.Index(yamlcheck.Index("services", i)+".scaling_policies", j)+".alarm.metric_name", "%q is not published per target group by the lab's load balancer, so a service's alarm on it would never see data; use one of %s", a.MetricName, strings.Join(TargetGroupALBMetrics, ", "))
			}
			if k, dup := policyOf[sp.Name]; dup {
				p.Errf(yamlcheck.Index(yamlcheck.Index("services", i)+".scaling_policies", j)+".name", "%q is also a policy of services[%d]; the lab names each policy's alarm after the policy, and CloudWatch alarm names are unique in a Region: name it apart", sp.Name, k)
			} else {
				policyOf[sp.Name] = i
			}
		}
	}
	for i, sv := range s.Services {
		total += sv.AutoScalingGroup.MaxSize
		if i == 0 {
			continue
		}
		tg := sv.TargetGroup
		path := yamlcheck.Index("services", i) + ".target_group"
		for _, d := range []struct {
			key  string
			same bool
		}{
			{"load_balancing_algorithm_type", tg.Algorithm == first.Algorithm},
			{"load_balancing_cross_zone_enabled", tg.CrossZone == first.CrossZone},
			{"slow_start", tg.SlowStart == first.SlowStart},
			{"deregistration_delay", tg.DeregistrationDelay == first.DeregistrationDelay},
			{"target_group_health", tg.Health == first.Health},
			{"load_balancing_anomaly_mitigation", tg.AnomalyMitigation == first.AnomalyMitigation},
			{"stickiness", tg.Stickiness == first.Stickiness},
		} {
			if !d.same {
				p.Errf(path+"."+d.key, "differs from services[0]'s; the lab's load balancer applies one %s to all its target groups (AWS sets it per target group): give every service the same, or leave it to services[0]'s", d.key)
			}
		}
	}
	if total > MaxInstances {
		p.Errf("services", "the services' max_size add up to %d, above the lab's maximum of %d instances: every instance runs on this host", total, MaxInstances)
	}
}

// Service returns the service called name.
func (s *Stack) Service(name string) (Service, int, bool) {
	i := slices.IndexFunc(s.ServiceList(), func(sv Service) bool { return sv.Name == name })
	if i < 0 {
		return Service{}, -1, false
	}
	return s.ServiceList()[i], i, true
}
