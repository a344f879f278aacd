package lab

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/process"
)

// silentHost is an agent's zone whose host went off without a word (its
// power gone): a call to it waits until its context ends, as a request to
// a host that drops packets does (no reset, no answer). asked receives
// each call as it begins.
type silentHost struct {
	az.Runtime // the calls the test does not make
	az.Hogger
	az.CPUAccounter
	exited chan az.InstanceID
	asked  chan string

	mu     sync.Mutex
	closes []time.Duration // each Close: how long it may wait (0: Close, no bound given)
}

func (s *silentHost) Exited() <-chan az.InstanceID { return s.exited }

func (s *silentHost) List(ctx context.Context) ([]az.Instance, error) {
	s.asked <- "list"
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *silentHost) Stats(ctx context.Context, id az.InstanceID) (az.Stats, error) {
	s.asked <- "stats"
	<-ctx.Done()
	return az.Stats{}, ctx.Err()
}

func (s *silentHost) Cut(ctx context.Context, d time.Duration) (func() error, error) {
	return nil, fmt.Errorf("not cut in this test")
}

func (s *silentHost) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes = append(s.closes, 0)
	return nil
}

func (s *silentHost) CloseWithin(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes = append(s.closes, d)
	return nil
}

// TestZonedRuntimeLostZoneEndsItsCalls: calls stuck on a zone's host that
// answers nothing (the group's loop asking EC2's view, CloudWatch asking
// an instance's CPU) end when the zone is lost, not at their own limit
// (20 s wall, 400 AWS seconds at speed 20, during which the group could
// not replace the lost capacity); after, a call to the lost zone fails at
// once without asking its host, List leaves its instances out, and the
// run's close waits lostTerminate at most for its agent.
func TestZonedRuntimeLostZoneEndsItsCalls(t *testing.T) {
	local, err := process.New(process.Options{RunID: fmt.Sprintf("kill20-%d", os.Getpid()), StateDir: t.TempDir(), LogDir: t.TempDir(), Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	host := &silentHost{exited: make(chan az.InstanceID), asked: make(chan string, 8)}
	zr := newZonedRuntime(local, map[string]remoteZone{"us-east-1b": host}, map[string]string{"us-east-1b": "169.254.2.250:7450"}, nil)
	closed := false
	defer func() {
		if !closed {
			zr.Close()
		}
	}()
	const id = az.InstanceID("i-00000000000000201")
	zr.mu.Lock()
	zr.where[id] = "us-east-1b"
	zr.mu.Unlock()

	type listed struct {
		list []az.Instance
		err  error
	}
	lists, stats := make(chan listed, 1), make(chan error, 1)
	go func() {
		l, err := zr.List(context.Background())
		lists <- listed{l, err}
	}()
	go func() {
		_, err := zr.Stats(context.Background(), id)
		stats <- err
	}()
	wait := time.After(10 * time.Second)
	for n := 0; n < 2; n++ {
		select {
		case <-host.asked:
		case <-wait:
			t.Fatal("List and Stats never reached the zone's host")
		}
	}
	if _, first := zr.markLost("us-east-1b"); !first { // what zoneLost does when memberlist declares the agent dead
		t.Fatal("markLost: not the first")
	}
	select {
	case got := <-lists:
		if got.err != nil || len(got.list) != 0 {
			t.Errorf("List once the zone is lost: %v, %v; want no instances and no error (the lost zone's hardware is gone)", got.list, got.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("List still waits on the lost zone's host 10 s after the zone was lost")
	}
	select {
	case err := <-stats:
		if err == nil {
			t.Error("Stats on the lost zone's instance: no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stats still waits on the lost zone's host 10 s after the zone was lost")
	}
	if _, err := zr.Stats(context.Background(), id); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("Stats after the zone was lost: %v, want the host is gone", err)
	}
	select {
	case call := <-host.asked:
		t.Errorf("the lost zone's host was asked again (%s)", call)
	default:
	}
	closed = true
	if err := zr.Close(); err != nil {
		t.Errorf("close: %v (a lost zone's agent not answering is not the run's error)", err)
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	if len(host.closes) != 1 || host.closes[0] != lostTerminate {
		t.Errorf("the lost zone's runtime closed with %v, want once, waiting %s at most", host.closes, lostTerminate)
	}
}
