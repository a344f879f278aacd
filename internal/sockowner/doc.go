// Package sockowner finds which process holds the TCP socket listening at
// an address, from /proc: the listening socket's inode in /proc/net/tcp (and
// tcp6), then the process whose /proc/PID/fd has that socket open. The lab
// uses it to refuse a target whose address is answered by a listener that
// is not the instance's own (another server on 127.0.N.10, a crashed run's
// leftover), instead of trusting whatever answers there.
package sockowner
