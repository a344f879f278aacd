package main

import (
	"fmt"
	"io"

	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// doctorPostgres reports the PostgreSQL server a stack's database: section
// runs (sim/rds): its version and the programs' paths, or how to install
// it. It fails doctor only for a stack that has a database.
func doctorPostgres(s *stack.Stack, stdout io.Writer) bool {
	in, err := rds.Find()
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "✓ %-22s %s: initdb %s, pg_ctl %s, postgres %s, pg_basebackup %s\n",
			"PostgreSQL", in.Version, in.Initdb, in.PgCtl, in.Postgres, in.PgBasebackup)
		return true
	case s.Database != nil:
		fmt.Fprintf(stdout, "✗ %-22s %v; stack %s has a database: section and will not start (as root: make run-deps)\n", "PostgreSQL", err, s.Name)
		return false
	}
	fmt.Fprintf(stdout, "- %-22s %v; only a stack with a database: section needs it\n", "PostgreSQL", err)
	return true
}
