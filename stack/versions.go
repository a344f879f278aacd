package stack

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// LaunchTemplateVersion is a later version of the launch template: the same
// command or image with some environment variables changed (a new release,
// or a broken one). Version 1 is the template itself.
type LaunchTemplateVersion struct {
	Version     int
	Description string
	Environment map[string]string // on top of the template's environment
}

// InstanceMaintenancePolicy is the group's instance maintenance policy
// (aws-behaviour.md 2.9): how much of the desired capacity stays healthy and
// how far above it the group may go while it replaces instances.
type InstanceMaintenancePolicy struct {
	MinHealthyPercentage int // 0-100
	MaxHealthyPercentage int // 100-200, at most 100 above the minimum
}

// VersionEnvironment is the environment a version adds to the template's;
// nil for version 1 and for versions the stack does not list.
func (lt LaunchTemplate) VersionEnvironment(version int) map[string]string {
	for _, v := range lt.Versions {
		if v.Version == version {
			return v.Environment
		}
	}
	return nil
}

// HasVersion says whether the template has that version (1 always exists).
func (lt LaunchTemplate) HasVersion(version int) bool {
	if version == 1 {
		return true
	}
	for _, v := range lt.Versions {
		if v.Version == version {
			return true
		}
	}
	return false
}

// versions reads launch_template.versions.
func (p *parser) versions(m map[string]*yaml.Node, lt *LaunchTemplate) {
	const path = "launch_template.versions"
	for i, n := range p.List(m["versions"], path) {
		ipath := yamlcheck.Index(path, i)
		vm := p.Mapping(n, ipath, "version", "description", "environment")
		v := LaunchTemplateVersion{Environment: map[string]string{}}
		p.Int(vm, ipath, "version", &v.Version)
		p.Str(vm, ipath, "description", &v.Description)
		p.StrMap(vm, ipath, "environment", &v.Environment)
		lt.Versions = append(lt.Versions, v)
	}
}

func (p *parser) validateVersions(lt LaunchTemplate) {
	const path = "launch_template.versions"
	seen := map[int]bool{}
	for i, v := range lt.Versions {
		ipath := yamlcheck.Index(path, i)
		switch {
		case !p.Has(ipath + ".version"):
			p.Errf(ipath+".version", "missing; number the version (2 or more; version 1 is the template itself)")
		case v.Version < 2:
			p.Errf(ipath+".version", "%d: allowed 2 or more (version 1 is the template itself)", v.Version)
		case seen[v.Version]:
			p.Errf(ipath+".version", "%d is listed twice; give each version once", v.Version)
		}
		seen[v.Version] = true
		for name := range v.Environment {
			field := yamlcheck.Sub(ipath+".environment", name)
			switch {
			case !envName.MatchString(name):
				p.Errf(field, "%q is not a variable name; use letters, digits and _, not starting with a digit", name)
			case strings.HasPrefix(name, "LAB_"):
				p.Errf(field, "LAB_ is reserved for the variables the lab sets (LAB_ADDR, LAB_PORT, ...); pick another name")
			}
		}
	}
	if p.Has("launch_template.version") && !lt.HasVersion(lt.Version) {
		p.Errf("launch_template.version", "%d: the group starts on version 1 or a version listed under launch_template.versions", lt.Version)
	}
}

// maintenancePolicy reads auto_scaling_group.instance_maintenance_policy.
func (p *parser) maintenancePolicy(m map[string]*yaml.Node, g *AutoScalingGroup) {
	const path = "auto_scaling_group.instance_maintenance_policy"
	mm := p.Mapping(m["instance_maintenance_policy"], path, "min_healthy_percentage", "max_healthy_percentage")
	if mm == nil {
		return
	}
	g.InstanceMaintenancePolicy = &InstanceMaintenancePolicy{}
	p.Int(mm, path, "min_healthy_percentage", &g.InstanceMaintenancePolicy.MinHealthyPercentage)
	p.Int(mm, path, "max_healthy_percentage", &g.InstanceMaintenancePolicy.MaxHealthyPercentage)
}

func (p *parser) validateMaintenancePolicy(mp *InstanceMaintenancePolicy) {
	const path = "auto_scaling_group.instance_maintenance_policy"
	if mp == nil {
		return
	}
	for _, f := range []string{"min_healthy_percentage", "max_healthy_percentage"} {
		if !p.Has(path + "." + f) {
			p.Errf(path+"."+f, "missing; AWS requires both min_healthy_percentage (0-100) and max_healthy_percentage (100-200)")
		}
	}
	switch {
	case mp.MinHealthyPercentage < 0 || mp.MinHealthyPercentage > 100:
		p.Errf(path+".min_healthy_percentage", "%d: allowed 0 to 100", mp.MinHealthyPercentage)
	case mp.MaxHealthyPercentage < 100 || mp.MaxHealthyPercentage > 200:
		p.Errf(path+".max_healthy_percentage", "%d: allowed 100 to 200", mp.MaxHealthyPercentage)
	case mp.MaxHealthyPercentage-mp.MinHealthyPercentage > 100:
		p.Errf(path+".max_healthy_percentage", "%d is more than 100 above min_healthy_percentage %d; AWS allows a difference of at most 100",
			mp.MaxHealthyPercentage, mp.MinHealthyPercentage)
	}
}
