package chaos

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/simplydone/lab/clock"
)

// Describe says what the step will do, in the words `lab plan` prints:
// what happens, to which zone or instance. Instances cannot be known before
// the run, so it names the selector and the seeded rule that chooses.
func (s Step) Describe(seed uint64) string {
	a := s.Action
	who := func() string {
		d := a.Select.Describe(a.Zone)
		if len(a.Select.IDs) == 0 && (a.Select.Order == "" || a.Select.Order == OrderRandom) {
			d += fmt.Sprintf(" (seed %d, draw %d)", seed, s.N)
		}
		return d
	}
	targets := func() string {
		if a.Select.empty() {
			return "targets in " + allZones(a.Zone)
		}
		return "the targets of " + who()
	}
	pct := cmp.Or(a.Percent, 100)
	lasting := " for " + clock.Short(a.Duration)
	switch a.Kind {
	case KillInstance:
		return "kill-instance on " + who() + ": killed; the Auto Scaling group replaces it"
	case StopInstance:
		return "stop-instance on " + who() + ": stopped" + lasting + ", then started"
	case PauseInstance:
		return "pause-instance on " + who() + ": frozen" + lasting + " (EC2 says running; health checks time out)"
	case CPUHog:
		return "cpu-hog on " + who() + ": all the CPU of its own limit burned" + lasting
	case HTTPError:
		first := ""
		if a.Count > 0 {
			first = fmt.Sprintf(", the first %d only", a.Count)
		}
		return fmt.Sprintf("http-error%s: %v%% of requests to %s answered %d as the target%s", lasting, pct, targets(), cmp.Or(a.Status, DefaultStatus), first)
	case Latency:
		return fmt.Sprintf("latency%s: %v%% of requests to %s delayed %s ± %s", lasting, pct, targets(), a.Latency, a.Jitter)
	case Bandwidth:
		return fmt.Sprintf("bandwidth%s: %v%% of responses from %s at most %d bytes/s", lasting, pct, targets(), a.Rate)
	case ConnectionReset:
		return fmt.Sprintf("connection-reset%s: %v%% of connections to %s reset (the load balancer answers 502)", lasting, pct, targets())
	case ConnectionTimeout:
		return fmt.Sprintf("connection-timeout%s: %v%% of connections to %s never answered (504 after the idle timeout)", lasting, pct, targets())
	case AZPartition:
		return fmt.Sprintf("az-partition%s: the load balancer's nodes cannot reach targets in %s (connections and health checks time out); the zone runs on", lasting, a.Zone)
	case KillLBNode:
		return fmt.Sprintf("kill-lb-node%s: the load balancer's node in %s goes down", lasting, a.Zone)
	case StoreOutage:
		return "store-outage" + lasting + ": the shared database is locked; reads, writes and deep health checks fail"
	case DBFailover:
		if a.DBInstance != "" && a.DBInstance != DBPrimary {
			return "db-failover on " + a.DBInstance + ": the read replica is promoted to a standalone DB instance at its own endpoint (without what it had not received); the source keeps its endpoint and its writes"
		}
		return "db-failover: the DB instance reboots with failover: its primary is fenced, the standby promoted, the endpoint moved in RDS's time"
	case KillDB:
		return "kill-db on " + cmp.Or(a.DBInstance, DBPrimary) + ": its server is killed, as its host failing would; RDS fails over (a primary) or recovers it"
	case ReplicaLag:
		return "replica-lag" + lasting + " on " + cmp.Or(a.DBInstance, DBReplica) + ": its replication is paused (WAL receiver cut off, replay paused); then it streams again"
	case RepointDatabase:
		return "repoint-database to " + cmp.Or(a.DBInstance, DBReplica) + ": the team's redeploy: a launch template version whose DATABASE_URL is that DB instance's endpoint, and an instance refresh to it"
	case DBConnections:
		return fmt.Sprintf("db-connections%s on %s: a leaky client opens %d connections through its endpoint and holds them idle; then closes them", lasting, cmp.Or(a.DBInstance, DBPrimary), a.Connections)
	case AZOutage:
		node := "its load-balancer node stays up (with cross-zone on it serves from the other zones)"
		if a.LBNode == LBNodeDown {
			node = "its load-balancer node goes down (lb_node: down)"
		}
		return fmt.Sprintf("az-outage%s in %s (FIS's AZ Availability: Power Interruption): every running instance there stops; "+
			"launches into it fail with InsufficientInstanceCapacity; its subnets are cut off (connections time out) for the first %s; %s; "+
			"then the zone takes launches again and the instances still there start", lasting, a.Zone, clock.Short(outageBlackhole(a)), node)
	}
	return a.Kind
}

// When says when the step happens: +mm:ss from the start of the load, or
// after an event.
func (s Step) When() string {
	at := clockTime(s.At)
	if s.After != "" {
		return fmt.Sprintf("when %s first holds, then +%s", s.After, strings.TrimPrefix(at, "+"))
	}
	return at
}

func clockTime(d time.Duration) string {
	sec := int(d.Round(time.Second) / time.Second)
	if sec >= 3600 {
		return fmt.Sprintf("+%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("+%02d:%02d", sec/60, sec%60)
}
