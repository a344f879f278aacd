// Command albnode runs the lab's load balancer with one zone (its node on
// 127.0.1.1) in front of the given backends, for bench/alb.sh. It prints
// "ready" once every backend is healthy and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/clock"
	"github.com/simplydone/lab/events"
	"github.com/simplydone/lab/promexport"
	"github.com/simplydone/lab/sim/alb"
	"github.com/simplydone/lab/sim/az"
)

func main() {
	port := flag.Int("port", 18080, "node listener port (the node is 127.0.1.1:PORT)")
	backends := flag.String("backends", "127.0.0.1:18081,127.0.0.1:18082", "comma-separated host:port targets")
	speed := flag.Float64("speed", 10, "clock speed (AWS seconds per wall second)")
	wait := flag.Duration("wait", 60*time.Second, "wall time to wait for the targets to be healthy")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile, from ready to shutdown, to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile, from ready to shutdown, to this file")
	accessLog := flag.String("accesslog", "", "write the access log to this file, as a lab run does")
	metrics := flag.Bool("metrics", false, "serve the Prometheus endpoint, as a lab run does (its URL goes to standard error)")
	rules := flag.Int("rules", 0, "listener rules (0-100): the request matches only the last (see benchRules)")
	front := flag.String("front", "loop", "the node's front: loop (the event loop under the front, sim/alb's and the lab's default) or goroutine (a goroutine per connection alone: alb.Config.GoroutineFront, LAB_ALB_FRONT=goroutine in a lab run)")
	flag.Parse()
	if *rules < 0 || *rules > 100 {
		log.Fatalf("-rules %d: use 0 to 100 (AWS's default quota of rules per load balancer)", *rules)
	}
	benchRuleCount = *rules
	switch *front {
	case "goroutine":
		goroutineFront = true
	case "loop":
	default:
		log.Fatalf("-front %q: use goroutine or loop", *front)
	}
	if err := run(*port, *backends, *speed, *wait, *cpuprofile, *memprofile, *accessLog, *metrics); err != nil {
		log.Fatal(err)
	}
}

func run(port int, backends string, speed float64, wait time.Duration, cpuprofile, memprofile, accessLog string, metrics bool) error {
	var addrs []netip.AddrPort
	for _, s := range strings.Split(backends, ",") {
		a, err := netip.ParseAddrPort(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("backend %q: %w", s, err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return errors.New("no backends")
	}
	zones, err := az.NewZones([]string{"us-east-1a"})
	if err != nil {
		return err
	}
	clk, err := clock.NewScaled(speed)
	if err != nil {
		return err
	}
	bus := events.NewBus(clk)
	defer bus.Close()
	var logw io.Writer
	if accessLog != "" {
		f, err := os.Create(accessLog)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	lb, err := alb.New(alb.Config{
		AccessLog: logw,
		Zones:     zones, Port: port, IdleTimeout: 60 * time.Second, DeregistrationDelay: 300 * time.Second, CrossZone: true,
		HealthCheck: alb.HealthCheck{Path: "/", Interval: 5 * time.Second, Timeout: 5 * time.Second,
			Thresholds: alb.Thresholds{Healthy: 5, Unhealthy: 2},
			Matches:    func(code int) bool { return code == 200 }},
		Clock: clk, Events: bus,
		TargetGroupName: benchGroup(benchRuleCount), Rules: benchRules(benchRuleCount),
		GoroutineFront: goroutineFront,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := lb.Start(ctx); err != nil {
		return err
	}
	defer lb.Close()
	if metrics {
		srv, err := promexport.Listen(lb)
		if err != nil {
			return err
		}
		defer srv.Close()
		fmt.Fprintln(os.Stderr, "metrics", srv.URL())
	}
	for i, a := range addrs {
		if err := lb.Register(az.InstanceID(fmt.Sprintf("i-bench%02d", i)), zones[0].Name, a); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(wait)
	for !allHealthy(lb) {
		if time.Now().After(deadline) {
			return fmt.Errorf("targets not healthy after %s: %v", wait, health(lb))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if memprofile != "" {
		runtime.MemProfileRate = 4096
		defer writeAllocs(memprofile)
	}
	fmt.Println("ready", lb.Nodes()[0].URL())
	<-ctx.Done()
	return nil
}

// writeAllocs writes the allocations since ready (the sampled ones, every
// 4 KiB on average) to path.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "albnode:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "albnode:", err)
	}
}

func allHealthy(lb *alb.LoadBalancer) bool {
	for _, t := range lb.Targets() {
		for _, h := range lb.Health(t.ID) {
			if h.State != alb.StateHealthy {
				return false
			}
		}
	}
	return true
}

func health(lb *alb.LoadBalancer) map[string]string {
	out := map[string]string{}
	for _, t := range lb.Targets() {
		for zone, h := range lb.Health(t.ID) {
			out[string(t.ID)+"@"+zone] = string(h.State)
		}
	}
	return out
}

// benchRuleCount is -rules.
var benchRuleCount int

// goroutineFront is -front goroutine.
var goroutineFront bool

// benchGroup names the target group the rules forward to ("" without
// rules: the node as before).
func benchGroup(n int) string {
	if n == 0 {
		return ""
	}
	return "bench"
}

// benchRules are n listener rules of which a request for / matches only
// the last: rules 1 to n-1 each have a path pattern (/api/vI/*) and a
// method condition (the path fails first, so the method is never looked
// at) and forward to the group; rule n has path pattern /*.
// Each request is evaluated against every rule, in priority order, before
// the last one forwards it, as a request for a path the later rules serve.
func benchRules(n int) []alb.Rule {
	var out []alb.Rule
	for i := 1; i <= n; i++ {
		conds := []alb.Condition{{Field: alb.FieldPathPattern, Values: []string{fmt.Sprintf("/api/v%d/*", i)}},
			{Field: alb.FieldHTTPRequestMethod, Values: []string{"GET"}}}
		if i == n {
			conds = []alb.Condition{{Field: alb.FieldPathPattern, Values: []string{"/*"}}}
		}
		out = append(out, alb.Rule{Priority: i, Conditions: conds, Action: alb.RuleAction{Type: alb.ActionForward, TargetGroup: "bench"}})
	}
	return out
}
