//go:build !linux

package alb

// evLoop is the event loop under the front, on Linux only
// (evloop_linux.go); here the goroutine front serves every connection.
type evLoop struct{}

func newEvLoop(*front) (*evLoop, error) { return nil, nil }

func (*evLoop) accept(*clientConn) bool { return false }

func (*evLoop) post(func()) bool { return false }

func (*evLoop) closeIdle() {}
