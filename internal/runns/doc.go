// Package runns is a run's own network namespace, for instances whose
// program or image is not trusted with the host's network. The namespace is
// named after the run (lab-<run id>, under /var/run/netns, where `ip netns`
// finds it); it has only its loopback device, so it holds the zone
// addresses (every 127.0.N.M is local on it) and nothing else: a process
// inside reaches neither the host's loopback services, nor the host's other
// addresses, nor the network (no link, no route leaves it).
//
// The lab reaches the instances inside without any link: a connection is
// made by a socket created in the namespace (Dial), then used from anywhere.
// A process is started inside by Do, which runs a function on an OS thread
// switched into the namespace (a child forked there is born in it).
//
// A namespace is removed when its run ends (Remove), and a crashed run's by
// the next run or `lab down` once the run is dead by its lock (the process
// runtime records it beside its instance records).
package runns
