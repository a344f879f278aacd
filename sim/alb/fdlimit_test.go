package alb

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/simplydone/lab/internal/fdlimit"
)

// A node whose process has run out of file descriptors cannot reach its
// target: the request gets the ALB's 502, as from a target that refused
// it, and the failure is counted as the lab's own (internal/fdlimit), so
// that the run's verdict does not put it on the stack. Both fronts.
func TestOutOfDescriptorsIsCountedAsTheLabs(t *testing.T) {
	for _, goroutine := range []bool{false, true} {
		var exhausted atomic.Bool
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if exhausted.Load() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("socket", syscall.EMFILE)}
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		target := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close") // no pooled connection: the node dials for every request
			w.Write([]byte("ok"))
		})
		h := newHarness(t, scaled(func(c *Config) { c.Dial, c.GoroutineFront = dial, goroutine }))
		h.register("i-a", "us-east-1a", target)
		h.waitState("i-a", StateHealthy)
		url := "http://" + h.lb.Nodes()[0].addr.String() + "/"
		if res, err := http.Get(url); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("before: %v %v", res, err)
		} else {
			res.Body.Close()
		}
		exhausted.Store(true)
		before := fdlimit.Exhausted()
		res, err := http.Get(url + "?again")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadGateway {
			t.Errorf("goroutine front %v: %d with no descriptor left to reach the target, want 502", goroutine, res.StatusCode)
		}
		if fdlimit.Exhausted() == before {
			t.Errorf("goroutine front %v: the failed dial was not counted as the lab's", goroutine)
		}
	}
}
