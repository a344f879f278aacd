package promexport

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simplydone/lab/rundir"
)

// DBSource is the data tier's latest AWS minute: who is where and each DB
// instance's AWS/RDS datapoints (lab.Lab.DatabaseNow).
type DBSource interface {
	DatabaseNow() (rundir.DBSample, bool)
}

// dbLabels are every AWS/RDS gauge's labels: RDS's dimension, and where
// the instance is and what it does now (a failover changes the role).
var dbLabels = []string{"DBInstanceIdentifier", "AvailabilityZone", "role"}

// rdsMetrics are the AWS/RDS metrics the lab publishes, with CloudWatch's
// names and units.
var rdsMetrics = []struct{ name, help string }{
	{"CPUUtilization", "AWS/RDS: the DB instance's CPU use, percent of its class's vCPUs, over the last AWS minute."},
	{"DatabaseConnections", "AWS/RDS: client network connections to the DB instance (count), the lab's own excluded."},
	{"ReplicaLag", "AWS/RDS: seconds (AWS time) a standby or replica's replay is behind its source; absent on the primary."},
	{"ReadIOPS", "AWS/RDS: read I/O operations per AWS second (Count/Second) over the last AWS minute: the server's read system calls."},
	{"WriteIOPS", "AWS/RDS: write I/O operations per AWS second (Count/Second) over the last AWS minute: the server's write system calls."},
	{"FreeStorageSpace", "AWS/RDS: bytes of allocated storage not used by the databases."},
}

// DBCollector exports the data tier's AWS/RDS metrics as gauges, the
// latest AWS minute's datapoint of each, named as CloudWatch names them.
type DBCollector struct {
	src   DBSource
	descs map[string]*prometheus.Desc
}

// NewDBCollector reads src at every scrape.
func NewDBCollector(src DBSource) *DBCollector {
	c := &DBCollector{src: src, descs: map[string]*prometheus.Desc{}}
	for _, m := range rdsMetrics {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, dbLabels, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *DBCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range rdsMetrics {
		ch <- c.descs[m.name]
	}
}

// Collect implements prometheus.Collector: nothing before the first minute.
func (c *DBCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.src.DatabaseNow()
	if !ok {
		return
	}
	for _, in := range s.Instances {
		names := make([]string, 0, len(in.Metrics))
		for n := range in.Metrics {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if d, ok := c.descs[n]; ok {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, in.Metrics[n], in.Identifier, in.Zone, in.Role)
			}
		}
	}
}
