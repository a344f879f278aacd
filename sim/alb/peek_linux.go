package alb

import (
	"net"
	"syscall"
)

// peeker looks at an idle connection without reading from it: a target
// that closed it (FIN or RST) is seen before a request is sent, as the ALB
// does; the race that remains is the real one.
type peeker struct {
	rc  syscall.RawConn
	buf [1]byte
	ok  bool
	fn  func(fd uintptr) bool
}

func newPeeker(c net.Conn) peeker {
	if t, ok := c.(*trackedConn); ok {
		c = t.Conn
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peeker{}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peeker{}
	}
	return peeker{rc: rc}
}

// open says whether the connection is still open and has nothing unread.
func (p *peeker) open() bool {
	if p.rc == nil {
		return true
	}
	if p.fn == nil {
		p.fn = func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			p.ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK // nothing to read: open and quiet; 0 bytes: closed
			return true
		}
	}
	if err := p.rc.Read(p.fn); err != nil {
		return false
	}
	return p.ok
}
