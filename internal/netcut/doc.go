// Package netcut cuts this host off the network and puts it back: the
// host-level half of an az-outage on a multi-host lab, which a `lab agent`
// applies to its own host (sim/agent's NetCutter).
//
// A cut sets the host's links down (every link that is up but the loopback,
// or the links named): packets between this host and every other are
// dropped, while everything on the host itself (its loopback, the AnyIP
// zone subnet routed to lo) keeps working. A link set down loses the routes
// through it (the kernel flushes them) and, for IPv6, its addresses; the cut
// records the links, their permanent addresses and the routes through them
// (every table but the kernel's local one) first, and the restore sets the
// links up again and re-adds whatever is missing, routes in as many passes
// as their order needs (a gateway route after the route to its gateway).
//
// A process that dies while its cut is on would leave the host cut for good:
// with WithRecord, the cut writes what it took down to a file first (and the
// restore removes it), and Recover, which an agent calls as it starts, puts
// back a dead process's cut from that file. A cut is refused while the file
// is there.
//
// The cut acts on the network namespace the process runs in (on a real host,
// the host's; in the lab's namespace test, the zone host's namespace the
// agent was started in). It needs CAP_NET_ADMIN there.
package netcut
