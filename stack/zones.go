package stack

import (
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/internal/dockerctx"
	"github.com/simplydone/lab/internal/yamlcheck"
)

// zones: is availability_zones with a host per zone (issue 20):
//
//	zones:
//	  - {name: us-east-1a}                             # this host
//	  - {name: us-east-1b, agent: 169.254.1.250:7450}  # the host whose `lab agent` listens there
//	  - {name: us-east-1c, docker_context: engine-c}   # the engine a Docker context names, on this host
//
// A zone without agent runs on the controller's host, as every zone of
// availability_zones does; a zones: list without any agent is the same
// stack as availability_zones with those names. The stack keeps the names
// in Zones (what every part reads) and the agents in ZoneAgents.
//
// Export (Terraform, CloudFormation) ignores the agents: where a zone's
// instances run in the lab is not part of the AWS stack.

// ZoneAgent is the agent that runs zone's instances ("host:port"), or ""
// when the zone runs on this host.
func (s *Stack) ZoneAgent(zone string) string { return s.ZoneAgents[zone] }

// HasAgents reports whether any zone runs on an agent's host.
func (s *Stack) HasAgents() bool { return len(s.ZoneAgents) > 0 }

// zoneEntries reads zones:, beside availability_zones: (one or the other).
func (p *parser) zoneEntries(m map[string]*yaml.Node, s *Stack) {
	const path = "zones"
	list := p.List(m[path], path)
	if m[path] == nil || p.Bad(path) {
		return
	}
	if m["availability_zones"] != nil {
		p.Errf(path, "given with availability_zones; use one: availability_zones (every zone on this host) or zones (each zone's name and, optionally, the agent that runs it)")
		return
	}
	names := make([]string, 0, len(list))
	agents := map[string]string{}
	seen := map[string]int{} // agent (one spelling) -> its entry
	for i, n := range list {
		ipath := yamlcheck.Index(path, i)
		e := p.Mapping(n, ipath, "name", "agent", "docker_context")
		var name, agent string
		switch {
		case p.Bad(ipath):
		case e == nil || e["name"] == nil:
			p.Errf(ipath+".name", "missing; name the zone, as in {name: us-east-1a, agent: 169.254.1.250:7450} (agent optional)")
		}
		p.Str(e, ipath, "name", &name)
		p.Str(e, ipath, "agent", &agent)
		names = append(names, name)
		p.zoneContext(e, ipath, name, s)
		field := ipath + ".agent"
		if !p.Has(field) || p.Bad(field) {
			continue
		}
		key, msg := agentKey(agent)
		switch j, dup := seen[key]; {
		case msg != "":
			p.Errf(field, "%q %s; use the agent's address and port, as in 169.254.1.250:7450 or zone-b.example:7450 (port 1-65535)", agent, msg)
		case dup:
			p.Errf(field, "%s is already the agent of zones[%d] (%s); each zone runs on a host of its own, with an agent of its own", agent, j, names[j])
		default:
			seen[key] = i
			if name != "" {
				agents[name] = agent
			}
		}
	}
	s.Zones = names
	if len(agents) > 0 {
		s.ZoneAgents = agents
	}
}

// ZoneContext is the Docker CLI context whose engine runs zone's
// instances, or "" (the run's own engine, or the agent's).
func (s *Stack) ZoneContext(zone string) string { return s.ZoneContexts[zone] }

// zoneContext reads a zones: entry's docker_context: a context of the
// Docker CLI's store (internal/dockerctx: $DOCKER_CONFIG or ~/.docker)
// with a docker endpoint on this host (a unix socket). Instances use the
// host's network and are reached at their zone's addresses on this host's
// loopback, so an engine on another host cannot serve a zone without an
// agent there: such a context is refused, naming `lab agent
// --docker-context` as the way.
func (p *parser) zoneContext(e map[string]*yaml.Node, ipath, zone string, s *Stack) {
	var name string
	p.Str(e, ipath, "docker_context", &name)
	field := ipath + ".docker_context"
	if !p.Has(field) || p.Bad(field) {
		return
	}
	if p.Has(ipath + ".agent") {
		p.Errf(field, "%q given with agent; use one: agent (the zone runs on that host; start it there with `lab agent --docker-context %s` to use that engine) or docker_context (an engine on this host)", name, name)
		return
	}
	c, err := dockerctx.Load("", name)
	var nf *dockerctx.NotFoundError
	switch {
	case errors.As(err, &nf):
		p.Errf(field, "%q is not a Docker context of %s; allowed: %s (docker context ls; docker context create NAME --docker host=unix:///PATH)", name, nf.Store, strings.Join(nf.Known, ", "))
		return
	case errors.Is(err, dockerctx.ErrNoDockerEndpoint):
		p.Errf(field, "%q has no docker endpoint; allowed: a context with one (docker context create NAME --docker host=unix:///PATH)", name)
		return
	case err != nil:
		p.Errf(field, "%q: %v", name, err)
		return
	case !c.Local():
		p.Errf(field, "%q names the engine %s, not a unix socket on this host: instances use the host's network and are reached at their zone's addresses here; for an engine on another host run `lab agent --docker-context %s` there and name it with agent: host:port", name, c.Host, name)
		return
	}
	if zone != "" {
		if s.ZoneContexts == nil {
			s.ZoneContexts = map[string]string{}
		}
		s.ZoneContexts[zone] = name
	}
}

// hostName is a DNS name: labels of letters, digits and hyphens.
var hostName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// agentKey is an agent's address in one spelling (an IP as netip prints
// it, a name in lower case), or what is wrong with it.
func agentKey(agent string) (key, problem string) {
	host, port, err := net.SplitHostPort(agent)
	if err != nil {
		return "", "is not host:port"
	}
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		return "", "has no port number"
	case n < 1 || n > 65535:
		return "", "has port " + port + ", not one of 1-65535"
	case host == "":
		return "", "has no host"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" || a.IsUnspecified() {
			return "", "is not an address an agent can be reached at"
		}
		return netip.AddrPortFrom(a.Unmap(), uint16(n)).String(), ""
	}
	if len(host) > 253 || !hostName.MatchString(host) {
		return "", "has a host that is neither an IP address nor a DNS name"
	}
	return strings.ToLower(host) + ":" + strconv.Itoa(n), ""
}
