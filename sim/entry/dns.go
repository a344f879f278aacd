package entry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/netutil"

	"github.com/simplydone/lab/clock"
)

// Record is one node's A record: the zone's member name and the node's address.
type Record struct {
	Zone string
	Addr netip.Addr
}

// DefaultTTL is the ALB's DNS record TTL, in AWS time.
const DefaultTTL = 60 * time.Second

// ObserverName is the DNS server's member name in the cluster.
const ObserverName = "route53-health-checker"

// DNSConfig configures the DNS server.
type DNSConfig struct {
	Name    string   // the load balancer's DNS name (a trailing dot is added)
	Records []Record // every node's record; liveness decides which are answered
	Peers   []string // cluster members to join (ip:port)
	Bind    string   // default 127.0.0.1
	// ObserverBind is where the health checker's cluster member binds
	// (default Bind): this host's address toward nodes on other hosts,
	// whose members must reach it. The DNS server itself stays on Bind.
	ObserverBind string
	Port         int // 0: a free port (UDP and TCP share it)
	TTL          time.Duration
	Clock        clock.Clock
	Timing       Timing
	Logger       *slog.Logger
	// Eligible, if set, says whether a zone's node may be handed out: the
	// hook for the target group's dns_failover threshold (wire
	// (*alb.LoadBalancer).DNSHealthy). Nil: every live node is eligible.
	Eligible func(zone string) bool
	// OnChange, if set, is called when the observer's failure detector
	// adds or removes a node (alive false: removed from DNS).
	OnChange func(zone string, alive bool)
	Seed     uint64 // answer order
	// Gossip is the cluster's key and label (Cluster.Gossip); required.
	Gossip Gossip
}

// DNSServer answers the load balancer's name with the live nodes.
type DNSServer struct {
	cfg      DNSConfig
	name     string
	zone     string // the name's parent: other names under it are NXDOMAIN, names outside it REFUSED
	ttl      uint32
	observer *Member
	pc       net.PacketConn // UDP, served by udpWorkers goroutines
	tcp      *dns.Server
	addr     string
	wg       sync.WaitGroup

	mu     sync.Mutex
	rand   *rand.Rand
	static map[string]staticName // other names the lab serves (a database's endpoints)
	once   sync.Once
}

// staticName is one name AddName serves: its address and TTL (wall s).
type staticName struct {
	addr netip.Addr
	ttl  uint32
}

// AddName makes the server answer name with addr, TTL ttl (AWS time): a
// name of another part of the lab, such as a database endpoint's, whose
// address is stable (the part moves what is behind it).
func (s *DNSServer) AddName(name string, addr netip.Addr, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.static == nil {
		s.static = map[string]staticName{}
	}
	s.static[dns.CanonicalName(name)] = staticName{addr: addr, ttl: WallTTL(ttl, s.cfg.Clock)}
}

func (s *DNSServer) lookupStatic(name string) (staticName, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.static[name]
	return r, ok
}

// WallTTL converts an AWS TTL to whole wall seconds through c, at least 1.
func WallTTL(ttl time.Duration, c clock.Clock) uint32 {
	s := math.Round(c.Wall(ttl).Seconds())
	return uint32(max(s, 1))
}

// StartDNS joins the cluster as an observer and serves DNS on UDP and TCP.
func StartDNS(cfg DNSConfig) (*DNSServer, error) {
	if cfg.Name == "" || cfg.Clock == nil || len(cfg.Records) == 0 {
		return nil, errors.New("dns: a name, a clock and records are required")
	}
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1"
	}
	if ip := net.ParseIP(cfg.Bind); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("dns: bind address %q: the DNS server answers only on loopback (127.0.0.0/8 or ::1)", cfg.Bind)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	s := &DNSServer{cfg: cfg, name: dns.CanonicalName(cfg.Name), ttl: WallTTL(cfg.TTL, cfg.Clock),
		rand: rand.New(rand.NewPCG(cfg.Seed, 0x64e5))}
	if labels := dns.SplitDomainName(s.name); len(labels) > 1 {
		s.zone = dns.Fqdn(strings.Join(labels[1:], "."))
	} else {
		s.zone = s.name
	}
	obsBind := cmp.Or(cfg.ObserverBind, cfg.Bind)
	obs, err := StartMember(MemberConfig{Name: ObserverName, Role: RoleObserver, Bind: obsBind,
		Timing: cfg.Timing.Wall(cfg.Clock), Logger: cfg.Logger, OnMembership: s.membership, Gossip: cfg.Gossip}, cfg.Peers)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	s.observer = obs
	if err := s.listen(); err != nil {
		obs.Kill()
		return nil, err
	}
	return s, nil
}

func (s *DNSServer) membership(zone string, alive bool) {
	if s.cfg.OnChange != nil && s.record(zone) {
		s.cfg.OnChange(zone, alive)
	}
}

func (s *DNSServer) record(zone string) bool {
	for _, r := range s.cfg.Records {
		if r.Zone == zone {
			return true
		}
	}
	return false
}

// listen binds UDP and TCP on one port and serves both.
func (s *DNSServer) listen() error {
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for try := 0; try < 10; try++ {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(s.cfg.Bind, fmt.Sprint(s.cfg.Port)))
		if err != nil {
			return fmt.Errorf("dns: listen udp on %s:%d: %w", s.cfg.Bind, s.cfg.Port, err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if s.cfg.Port != 0 {
			return fmt.Errorf("dns: listen tcp on %s: %w", pc.LocalAddr(), err)
		}
	}
	if err != nil {
		return fmt.Errorf("dns: no port free for both udp and tcp: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	s.pc = pc
	for range udpWorkers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveUDP()
		}()
	}
	// TCP: miekg/dns's server, each connection read with its timeouts
	// (2 s to read a query, 8 s idle), at most maxTCPConns at once.
	s.tcp = &dns.Server{Listener: netutil.LimitListener(ln, maxTCPConns), Handler: dns.HandlerFunc(s.serveDNS), MaxTCPQueries: 16}
	started, done := make(chan struct{}), make(chan error, 1)
	s.tcp.NotifyStartedFunc = func() { close(started) }
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.tcp.ActivateAndServe()
		if err != nil && s.cfg.Logger != nil {
			s.cfg.Logger.Error("dns server stopped", "err", err)
		}
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		pc.Close()
		s.wg.Wait()
		return fmt.Errorf("dns: serve on %s: %w", s.addr, err)
	}
	return nil
}

// The DNS server's bounds: a fixed number of UDP readers (a flood of
// queries queues in the socket and is dropped there, it does not grow
// goroutines) and a cap on TCP connections.
const (
	udpWorkers  = 4
	maxTCPConns = 32
	maxUDPReply = 512 // without EDNS0, a UDP answer is at most 512 bytes
)

// serveUDP answers UDP queries until the socket closes; what does not
// parse as a query is dropped.
func (s *DNSServer) serveUDP() {
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		req := new(dns.Msg)
		if req.Unpack(buf[:n]) != nil || req.Response {
			continue
		}
		m := s.reply(req)
		m.Truncate(maxUDPReply)
		if b, err := m.Pack(); err == nil {
			s.pc.WriteTo(b, from)
		}
	}
}

// Addr is where the server answers, UDP and TCP (127.0.0.1:port).
func (s *DNSServer) Addr() string { return s.addr }

// Name is the load balancer's DNS name, with its trailing dot.
func (s *DNSServer) Name() string { return s.name }

// TTL is the records' TTL in wall seconds.
func (s *DNSServer) TTL() uint32 { return s.ttl }

// Observer is the server's cluster member.
func (s *DNSServer) Observer() *Member { return s.observer }

// Views is the nodes' views of target health as gossiped to the observer.
func (s *DNSServer) Views() Views { return s.observer.Views() }

// Live lists the zones whose nodes the observer holds alive.
func (s *DNSServer) Live() []string {
	alive := s.observer.Alive()
	var zs []string
	for _, r := range s.cfg.Records {
		if alive[r.Zone] {
			zs = append(zs, r.Zone)
		}
	}
	return zs
}

// Answer is the addresses the server hands out now, in record order: the
// live, eligible nodes; when there are none, every live node; when no node
// is alive, every node (Route 53 answers all records when all are unhealthy).
func (s *DNSServer) Answer() []netip.Addr {
	var out []netip.Addr
	for _, r := range s.answer() {
		out = append(out, r.Addr)
	}
	return out
}

// AnswerZones is the zones whose nodes Answer hands out now, in record order.
func (s *DNSServer) AnswerZones() []string {
	var out []string
	for _, r := range s.answer() {
		out = append(out, r.Zone)
	}
	return out
}

func (s *DNSServer) answer() []Record {
	alive := s.observer.Alive()
	var live, eligible []Record
	for _, r := range s.cfg.Records {
		if !alive[r.Zone] {
			continue
		}
		live = append(live, r)
		if s.cfg.Eligible == nil || s.cfg.Eligible(r.Zone) {
			eligible = append(eligible, r)
		}
	}
	switch {
	case len(eligible) > 0:
		return eligible
	case len(live) > 0:
		return live
	}
	return s.cfg.Records
}

func (s *DNSServer) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	w.WriteMsg(s.reply(req))
}

// reply answers one query as an authoritative server of the load
// balancer's name (and the names AddName added), with no recursion: the name's A records; other
// names under its parent NXDOMAIN; any other name REFUSED; anything but a
// standard query NOTIMP.
func (s *DNSServer) reply(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = false
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	if r, ok := s.lookupStatic(name); ok {
		m.Authoritative = true
		if q.Qtype == dns.TypeA && q.Qclass == dns.ClassINET {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: r.ttl},
				A:   net.IP(r.addr.AsSlice()),
			})
		}
		return m
	}
	switch {
	case name != s.name && dns.IsSubDomain(s.zone, name):
		m.Authoritative = true
		m.Rcode = dns.RcodeNameError
	case name != s.name:
		m.Rcode = dns.RcodeRefused // not this server's name, and it does not recurse
	case q.Qtype == dns.TypeA && q.Qclass == dns.ClassINET:
		m.Authoritative = true
		addrs := s.Answer()
		s.mu.Lock()
		s.rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
		s.mu.Unlock()
		for _, a := range addrs {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: s.ttl},
				A:   net.IP(a.AsSlice()),
			})
		}
	default:
		m.Authoritative = true // other types of the name: no data (NOERROR, empty answer)
	}
	return m
}

// Close stops serving and the observer (without leaving). Safe to call twice.
func (s *DNSServer) Close() error {
	var errs []error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.tcp.ShutdownContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dns: shut down: %w", err))
		}
		s.pc.Close()
		s.wg.Wait()
		errs = append(errs, s.observer.Kill())
	})
	return errors.Join(errs...)
}

// LoadBalancerName builds an ALB-shaped DNS name under .localhost:
// NAME-ID.REGION.elb.localhost. where REGION is the zone's without its
// letter (us-east-1a -> us-east-1).
func LoadBalancerName(name string, id uint64, zone string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if n == "" {
		n = "lab"
	}
	if len(n) > 32 { // an ALB name is at most 32 characters
		n = strings.TrimRight(n[:32], "-")
	}
	region := strings.TrimRight(zone, "abcdefghijklmnopqrstuvwxyz")
	if region == "" {
		region = "us-east-1"
	}
	return fmt.Sprintf("%s-%010d.%s.elb.localhost.", n, id%10_000_000_000, region)
}
