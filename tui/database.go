package tui

import (
	"fmt"
	"strings"

	"github.com/simplydone/lab/stack"
)

// rdsNamespace is RDS's CloudWatch namespace: an alarm on it watches a DB
// instance, not the instances' CPU bars.
const rdsNamespace = stack.NamespaceRDS

// databaseLine is the data tier on one line: each DB instance's role and
// zone now, and its latest AWS/RDS minute (CPU; connections against
// max_connections where clients connect; replica lag on a copy; write and
// read IOPS when wide). A primary near its max_connections is in the bad
// colour, as its clients are then refused.
func (m Model) databaseLine(w int) string {
	title := "RDS"
	var parts []string
	for _, d := range m.snap.Database {
		p := m.st.bold.Render(d.Identifier) + " " + d.Role + " " + shortZone(d.Zone)
		if d.HasCPU {
			p += fmt.Sprintf(" CPU %.0f%%", d.CPU)
		}
		if d.HasConnections && (d.Role != "standby" || d.Connections > 0) {
			c := fmt.Sprintf(" conn %.0f/%d", d.Connections, d.MaxConnections)
			if d.MaxConnections > 0 && d.Connections >= 0.9*float64(d.MaxConnections) {
				c = m.st.bad.Render(c)
			}
			p += c
		}
		if d.HasLag {
			l := fmt.Sprintf(" lag %.0fs", d.ReplicaLag)
			if d.ReplicaLag >= 30 {
				l = m.st.warn.Render(l)
			}
			p += l
		}
		if d.HasIOPS && w >= 120 {
			p += m.st.dim.Render(fmt.Sprintf(" IOPS w%.0f r%.0f", d.WriteIOPS, d.ReadIOPS))
		}
		parts = append(parts, p)
	}
	return m.st.bold.Render(title) + "  " + strings.Join(parts, m.st.dim.Render(" · "))
}
