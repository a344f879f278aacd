package main

import (
	"fmt"
	"io"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// doctorPostgres reports the PostgreSQL server a stack's database: section
// runs (sim/rds): its version and the programs' paths, or how to install
// it; and, for a stack with a database, whether each server's address is
// free. It fails doctor only for a stack that has a database.
func doctorPostgres(s *stack.Stack, stdout io.Writer) bool {
	in, err := rds.Find()
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "✓ %-22s %s: initdb %s, pg_ctl %s, postgres %s, pg_basebackup %s\n",
			"PostgreSQL", in.Version, in.Initdb, in.PgCtl, in.Postgres, in.PgBasebackup)
		return doctorDBAddresses(s, stdout)
	case s.Database != nil:
		fmt.Fprintf(stdout, "✗ %-22s %v; stack %s has a database: section and will not start (as root: make run-deps)\n", "PostgreSQL", err, s.Name)
		return false
	}
	fmt.Fprintf(stdout, "- %-22s %v; only a stack with a database: section needs it\n", "PostgreSQL", err)
	return true
}

// doctorDBAddresses checks that every database server of the stack can
// listen where the tier puts it (127.0.N.200 and up, database.port).
func doctorDBAddresses(s *stack.Stack, stdout io.Writer) bool {
	if s.Database == nil {
		return true
	}
	zones, err := az.NewZones(s.Zones)
	if err != nil {
		return false
	}
	servers, err := rds.Plan(s.Database, zones, "")
	if err != nil {
		fmt.Fprintf(stdout, "✗ %-22s %v\n", "database", err)
		return false
	}
	ok := true
	for _, sv := range servers {
		mark := "✓"
		if !canListen(sv.Addr, sv.Port) {
			mark, ok = "✗", false
		}
		fmt.Fprintf(stdout, "%s %-22s free for DB instance %s (%s) in %s\n", mark, "port "+sv.AddrPort().String(), sv.Identifier, sv.Role, sv.Zone.Name)
	}
	return ok
}
