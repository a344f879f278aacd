//go:build !linux

package alb

import "errors"

// evLoop is the event-loop front, on Linux only (evloop_linux.go); here
// Config.EventLoop is refused at New.
type evLoop struct{}

func newEvLoop(*front) (*evLoop, error) {
	return nil, errors.New("load balancer: the event-loop front needs Linux (epoll)")
}

func (*evLoop) accept(*clientConn) bool { return false }

func (*evLoop) post(func()) bool { return false }
