package main

import (
	"strings"
	"testing"

	"github.com/simplydone/lab/sim/rds"
)

// TestDoctorPostgresMissing: with no PostgreSQL server, doctor fails a
// stack that has a database and says how to install one; for a stack
// without one it only notes the absence.
func TestDoctorPostgresMissing(t *testing.T) {
	t.Setenv("LAB_PG_BINDIR", t.TempDir()) // no server's programs there
	dir := t.TempDir()
	withDB := write(t, dir, "db.yaml", `name: shop
target_group: {port: 8080}
launch_template: {command: [simplydone]}
auto_scaling_group: {min_size: 1, max_size: 2}
database: {engine: postgres, db_instance_class: db.t3.micro, multi_az: true}
`)
	code, out, _ := runLab(t, "doctor", withDB)
	if code != exitFailed || !strings.Contains(out, "✗ PostgreSQL") || !strings.Contains(out, rds.InstallCommand) {
		t.Errorf("a stack with a database, no server: exit %d\n%s", code, out)
	}
	_, out, _ = runLab(t, "doctor")
	if !strings.Contains(out, "- PostgreSQL") || !strings.Contains(out, "only a stack with a database: section needs it") {
		t.Errorf("the built-in stack, no server:\n%s", out)
	}
}

// TestDoctorPostgresAddresses: with the server installed, doctor checks
// each database server's address for a stack with a database.
func TestDoctorPostgresAddresses(t *testing.T) {
	if _, err := rds.Find(); err != nil {
		t.Skipf("%v", err)
	}
	withDB := write(t, t.TempDir(), "db.yaml", `name: shop
target_group: {port: 8080}
launch_template: {command: [simplydone]}
auto_scaling_group: {min_size: 1, max_size: 2}
database: {engine: postgres, db_instance_class: db.t3.micro, multi_az: true, port: 18489}
`)
	_, out, _ := runLab(t, "doctor", withDB)
	for _, want := range []string{"port 127.0.1.200:18489", "free for DB instance shop-db (primary) in us-east-1a", "port 127.0.2.200:18489", "shop-db-standby (standby) in us-east-1b"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
}
