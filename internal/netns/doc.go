// Package netns builds a test topology of hosts on one machine: each host is
// a network namespace, the hosts are joined by veth pairs to a bridge that
// lives inside the controller's namespace, and every address is link-local
// (169.254.0.0/16) and inside those namespaces, so nothing of the topology
// exists in the root namespace (no address, no link, no route).
//
//	ctl (169.254.0.1/16 on br0)
//	 ├─ vz1 ── eth0 of z1 (169.254.1.250/16; 169.254.1.0/24 local on lo)
//	 └─ vz2 ── eth0 of z2 (169.254.2.250/16; 169.254.2.0/24 local on lo)
//
// A zone host holds its whole zone subnet (169.254.N.0/24) through an AnyIP
// local route, so a program there may listen on any address of it; the
// controller routes each zone subnet via the zone host's .250. Namespaces are
// named <prefix>-<6 hex>-<host> (e.g. labt-3f09a1-ctl, labt-3f09a1-z1), under
// /var/run/netns where `ip netns` finds them; the hex is the topology's own.
//
// Programs are started inside a host by Exec (nsenter into its network
// namespace only: the host's mounts, cgroups included, stay as they are). CutLink sets
// a zone host's bridge port down: packets between that host and the others
// are dropped, addresses and routes stay, and the restore sets it up again.
//
// Close removes everything (processes still inside are killed first). A test
// that crashed or was interrupted leaves its namespaces behind; Sweep, called
// at the start of each test, removes every topology of a prefix whose owner
// is gone. The owner is known by a lock: a topology holds an exclusive flock
// on LockDir/<prefix>-<hex>.lock for its whole life, which the kernel drops
// when the owning process dies however it dies.
//
// This is a test harness: it needs root, ip (iproute2) and nsenter (util-linux), and
// its callers skip (Available says why) when either is missing.
package netns
