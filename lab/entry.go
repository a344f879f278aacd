package lab

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/entry"
)

// labEntry is how clients reach the load balancer: its nodes' memberlist
// cluster, the DNS server that hands out the live nodes, the load
// generator's dialer and the stable URL's front door.
type labEntry struct {
	cluster *entry.Cluster
	dns     *entry.DNSServer
	door    *entry.FrontDoor
	load    *entry.Resolver // the load generator's resolver: its answers cached for the TTL
	name    string          // the load balancer's DNS name, without the trailing dot
	port    string          // the listener port
}

// startEntry starts the cluster, then the DNS server (an observer member),
// waits until the DNS server sees every node, and opens the front door.
func (l *Lab) startEntry() error {
	e := &labEntry{}
	l.entry = e
	var specs []entry.NodeSpec
	var records []entry.Record
	for _, n := range l.LB.Nodes() {
		ap := n.AddrPort()
		e.port = strconv.Itoa(int(ap.Port()))
		remote := l.agentNodes[n.Zone()] != nil // its member runs on its agent's host (joinAgentNodes)
		specs = append(specs, entry.NodeSpec{Zone: n.Zone(), Addr: ap.Addr(), Source: n, Remote: remote})
		records = append(records, entry.Record{Zone: n.Zone(), Addr: ap.Addr()})
	}
	// With nodes on other hosts the health checker's member binds this
	// host's address toward them, so that their members reach it.
	observer := ""
	if len(l.agentNodes) > 0 {
		observer = l.agentBind.String() // as the agents' cluster's member binds (startAgentCluster)
	}
	var err error
	if e.cluster, err = entry.StartCluster(entry.ClusterConfig{Nodes: specs, Switch: l.LB, Clock: l.Clock, Logger: l.opts.Logger}); err != nil {
		return fmt.Errorf("load balancer cluster: %w", err)
	}
	fqdn := entry.LoadBalancerName(l.opts.Stack.Name, l.opts.Seed*0x9e3779b97f4a7c15, l.Zones[0].Name)
	e.name = strings.TrimSuffix(fqdn, ".")
	e.dns, err = entry.StartDNS(entry.DNSConfig{
		Name: fqdn, Records: records, Peers: e.cluster.Peers(), Clock: l.Clock, Logger: l.opts.Logger, Seed: l.opts.Seed, ObserverBind: observer,
		Gossip: e.cluster.Gossip(), // the run's own key and label: nothing outside the run gossips
		// The target group's dns_failover threshold: a zone below it leaves
		// the answer (every live node is answered when no zone passes).
		Eligible: l.LB.DNSHealthy,
		OnChange: func(zone string, alive bool) { l.Bus.Publish(NodeDNSChanged{Zone: zone, InDNS: alive, Name: e.name}) },
	})
	if err != nil {
		return fmt.Errorf("load balancer DNS: %w", err)
	}
	e.cluster.AddSeed(e.dns.Observer().Addr()) // a node restarting after every other one is down still finds the cluster
	if err := l.joinAgentNodes(l.ctx, e.cluster.Gossip(), e.cluster.Durations(), e.cluster.Peers()); err != nil {
		return fmt.Errorf("load balancer cluster: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(e.dns.Live()) < len(records) {
		if time.Now().After(deadline) {
			return fmt.Errorf("load balancer DNS: its health checker sees %v of %d nodes after 30 s", e.dns.Live(), len(records))
		}
		time.Sleep(10 * time.Millisecond)
	}
	target := net.JoinHostPort(e.name, e.port)
	e.load = entry.NewResolver(e.dns.Addr(), nil)
	browser := &entry.Dialer{Resolver: entry.NewResolver(e.dns.Addr(), nil), Name: e.name, Client: entry.NextAddress}
	if e.door, err = entry.StartFrontDoor(entry.FrontDoorConfig{Target: target, Dialer: browser, Logger: l.opts.Logger}); err != nil {
		return err
	}
	l.addDatabaseNames() // the data tier's endpoints, in the same DNS
	l.Bus.Publish(EntryReady{Name: e.name, DNS: e.dns.Addr(), TTL: int(e.dns.TTL()), URL: e.door.URL()})
	return nil
}

// closeEntry stops the front door, the DNS server and the cluster.
func (l *Lab) closeEntry() error {
	e := l.entry
	if e == nil {
		return nil
	}
	var errs []error
	if e.door != nil {
		errs = append(errs, e.door.Close())
	}
	if e.dns != nil {
		errs = append(errs, e.dns.Close())
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Close())
	}
	return errors.Join(errs...)
}

// URL is the stable URL for people (http://127.0.0.1:8080/ when that port
// is free): it keeps working when any single zone fails.
func (l *Lab) URL() string {
	if l.entry == nil || l.entry.door == nil {
		return ""
	}
	return l.entry.door.URL()
}

// EntryName is the load balancer's DNS name
// (simplydone-1234567890.us-east-1.elb.localhost).
func (l *Lab) EntryName() string {
	if l.entry == nil {
		return ""
	}
	return l.entry.name
}

// DNS is the load balancer's DNS server (its address, TTL, live nodes and
// the nodes' gossiped views as its health checker sees them).
func (l *Lab) DNS() *entry.DNSServer { return l.entry.dns }

// Cluster is the load balancer nodes' memberlist cluster; Views and
// entry.Disagreements show where the nodes' views of target health differ.
func (l *Lab) Cluster() *entry.Cluster { return l.entry.cluster }

// loadTarget is the load generator's base URL, by the load balancer's name,
// and the dialer that resolves it through the DNS server (answers cached
// for the TTL) as the scenario's clients do (load.client):
// entry.NextAddress tries the next address when a connection is refused or
// times out, entry.OneAddress does not.
func (l *Lab) loadTarget(client string) (string, *entry.Dialer) {
	return "http://" + net.JoinHostPort(l.entry.name, l.entry.port), &entry.Dialer{Resolver: l.entry.load, Name: l.entry.name, Client: client}
}

// StopZoneNode takes zone's load-balancer node down as a zone failure does
// (listener closed, cluster member gone without a word); memberlist's
// failure detector, then the DNS TTL, move clients off it.
func (l *Lab) StopZoneNode(zone string) error { return l.entry.cluster.StopZone(zone) }

// StartZoneNode brings zone's node back; it rejoins the cluster and DNS.
func (l *Lab) StartZoneNode(zone string) error { return l.entry.cluster.StartZone(zone) }

// NodeDNSChanged is published when the DNS server's health checker (its
// memberlist failure detector) removes a node from the answer or adds it back.
type NodeDNSChanged struct {
	Zone  string `json:"zone"`
	InDNS bool   `json:"in_dns"`
	Name  string `json:"name"`
}

func (NodeDNSChanged) Kind() string { return "lb" }
func (e NodeDNSChanged) Message() string {
	if e.InDNS {
		return fmt.Sprintf("DNS: %s hands out the load balancer node in %s", e.Name, e.Zone)
	}
	return fmt.Sprintf("DNS: the load balancer node in %s failed its health checks (memberlist declared it dead); removed from %s", e.Zone, e.Name)
}

// EntryReady is published when the load balancer's name resolves.
type EntryReady struct {
	Name string `json:"name"`
	DNS  string `json:"dns"`
	TTL  int    `json:"ttl_seconds"` // wall seconds
	URL  string `json:"url"`
}

func (EntryReady) Kind() string { return "lb" }
func (e EntryReady) Message() string {
	return fmt.Sprintf("DNS name %s (served at %s, TTL %d s); stable URL %s", e.Name, e.DNS, e.TTL, e.URL)
}

// ViewDisagreements lists the targets the live nodes' gossiped views of
// target health do not agree on (for the TUI and the metrics).
func (l *Lab) ViewDisagreements() []entry.Disagreement {
	return entry.Disagreements(l.entry.cluster.Views())
}
