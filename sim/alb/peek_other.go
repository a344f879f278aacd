//go:build !linux

package alb

import "net"

// peeker is a no-op where the connection cannot be peeked at: a target that
// closed an idle connection is found out by the next request (502).
type peeker struct{}

func newPeeker(net.Conn) peeker { return peeker{} }

func (peeker) open() bool { return true }
