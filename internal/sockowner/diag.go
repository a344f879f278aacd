package sockowner

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// The kernel's sock_diag interface (linux/inet_diag.h): a dump of the TCP
// sockets in the states asked for. Asked for listeners only, the kernel
// walks its listening table and nothing else, where /proc/net/tcp prints
// every socket on the host (tens of thousands of TIME_WAIT ones under a
// few thousand requests a second) for the scan to skip: the health check's
// cost then grew with the load.
const (
	sizeofDiagReq  = 56 // struct inet_diag_req_v2
	sizeofDiagMsg  = 72 // struct inet_diag_msg
	tcpStateListen = 10
)

// diagListeners calls fn for each TCP socket listening in the calling
// thread's network namespace, IPv4 and IPv6, through sock_diag. The socket
// is opened on a locked thread, as openNet opens /proc/thread-self/net: a
// netlink socket answers for the namespace of the thread that created it.
func diagListeners(fn func(local netip.AddrPort, inode uint64)) error {
	runtime.LockOSThread()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := diagDump(fd, family, fn); err != nil {
			return err
		}
	}
	return nil
}

// diagDump asks for one family's listeners and reads the dump to its end.
func diagDump(fd int, family uint8, fn func(local netip.AddrPort, inode uint64)) error {
	req := make([]byte, unix.NLMSG_HDRLEN+sizeofDiagReq)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:4], uint32(len(req)))
	ne.PutUint16(req[4:6], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:12], 1) // sequence
	b := req[unix.NLMSG_HDRLEN:]
	b[0], b[1] = family, unix.IPPROTO_TCP
	ne.PutUint32(b[4:8], 1<<tcpStateListen)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag request: %w", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("sock_diag dump: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("sock_diag dump: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := int32(ne.Uint32(m.Data[:4])); errno != 0 {
						return fmt.Errorf("sock_diag dump: %w", syscall.Errno(-errno))
					}
				}
				return nil
			}
			if len(m.Data) < sizeofDiagMsg || m.Data[1] != tcpStateListen {
				continue
			}
			d := m.Data
			port := binary.BigEndian.Uint16(d[4:6])
			var a netip.Addr
			if d[0] == unix.AF_INET {
				a = netip.AddrFrom4([4]byte(d[8:12]))
			} else {
				a = netip.AddrFrom16([16]byte(d[8:24]))
			}
			if inode := uint64(ne.Uint32(d[68:72])); inode != 0 {
				fn(netip.AddrPortFrom(a, port), inode)
			}
		}
	}
}
