// Package rds is the lab's data tier: RDS for PostgreSQL on real PostgreSQL
// servers (Debian's postgresql package: initdb, postgres, pg_basebackup),
// one per DB instance, each on its zone's loopback subnet (.200-.249), with
// its own data directory under the run directory. A Multi-AZ DB instance's
// standby is made with pg_basebackup and streams synchronously; a Multi-AZ
// DB cluster's two readers acknowledge as a quorum of one; read replicas
// stream asynchronously. The servers run through the Runtime it is given
// (the lab gives it a process runtime of its own: unprivileged, in a
// cgroup, labelled with the run and reaped after a crash). Endpoints,
// failover and RDS's metrics build on Tier's seams (Servers, Conn).
package rds
