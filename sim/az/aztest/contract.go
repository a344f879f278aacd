package aztest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// Timeouts of the suite, generous enough for a container engine on a busy
// two-core machine.
const (
	serveTimeout  = 30 * time.Second // launch or start to a 200 on /health
	exitedTimeout = 15 * time.Second // kill to the report on Exited
	quietWindow   = time.Second      // how long Exited must stay quiet
)

// RunContract runs the runtime contract as subtests. newRuntime returns a
// fresh runtime (each subtest gets its own) and should close it in a
// t.Cleanup; spec returns a spec for an instance listening on addr (a zone
// loopback address) at a free port, whose GET /health answers 200 naming
// the instance (in an X-Instance-Id header or in the body).
func RunContract(t *testing.T, newRuntime func(t *testing.T) az.Runtime, spec func(t *testing.T, addr string) az.Spec) {
	c := contract{newRuntime, spec}
	t.Run("LaunchServesOnItsAddress", c.launchServes)
	t.Run("UnknownInstanceIsNotFound", c.unknownNotFound)
	t.Run("TerminateLeavesNothing", c.terminateLeavesNothing)
	t.Run("StopStartKeepsIdentity", c.stopStart)
	t.Run("PauseFreezesResumeThaws", c.pauseResume)
	t.Run("KillShowsOnExited", c.killShowsOnExited)
	t.Run("KillWhileBootingIsACrash", c.killWhileBooting)
	t.Run("FailedStartLeavesStopped", c.failedStartLeavesStopped)
	t.Run("ListSortedByID", c.list)
	t.Run("CloseIsIdempotentAndLeavesNothing", c.closeIdempotent)
}

type contract struct {
	newRuntime func(t *testing.T) az.Runtime
	spec       func(t *testing.T, addr string) az.Spec
}

var bg = context.Background()

func (c contract) launch(t *testing.T, r az.Runtime, addr string) az.Spec {
	t.Helper()
	s := c.spec(t, addr)
	in, err := r.Launch(bg, s)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != s.ID || in.Addr != s.Addr || in.Port != s.Port || in.RunID == "" {
		t.Fatalf("Launch returned %+v for spec %s on %s:%d", in, s.ID, s.Addr, s.Port)
	}
	if in.State != az.StateRunning && in.State != az.StatePending {
		t.Fatalf("launched instance is %s", in.State)
	}
	return s
}

func (c contract) launchServes(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.50")
	WaitServing(t, s, serveTimeout)
	if got := StateOf(t, r, s.ID); got != az.StateRunning {
		t.Errorf("state of a serving instance = %s", got)
	}
	if _, err := r.Launch(bg, s); err == nil {
		t.Error("launching the same id twice succeeded")
	}
	if st, err := r.Stats(bg, s.ID); err != nil || st.CPUUtilization < 0 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

func (c contract) unknownNotFound(t *testing.T) {
	r := c.newRuntime(t)
	id := az.InstanceID("i-00000000000000000")
	_, statsErr := r.Stats(bg, id)
	for name, err := range map[string]error{
		"Stop": r.Stop(bg, id), "Start": r.Start(bg, id), "Pause": r.Pause(bg, id), "Kill": r.Kill(bg, id),
		"Resume": r.Resume(bg, id), "Terminate": r.Terminate(bg, id), "Stats": statsErr,
	} {
		if !errors.Is(err, az.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}
}

func (c contract) terminateLeavesNothing(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.51")
	WaitServing(t, s, serveTimeout)
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(URL(s), 500*time.Millisecond); err == nil {
		t.Error("terminated instance still answers")
	}
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if list, _ := r.List(bg); len(list) != 0 {
		t.Errorf("List after Terminate = %+v", list)
	}
	if _, err := r.Stats(bg, s.ID); !errors.Is(err, az.ErrNotFound) {
		t.Errorf("Stats of a terminated instance: %v, want ErrNotFound", err)
	}
	ExpectNoExit(t, r)
}

func (c contract) stopStart(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.52")
	WaitServing(t, s, serveTimeout)

	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if st := StateOf(t, r, s.ID); st != az.StateStopped {
		t.Fatalf("state after Stop = %s", st)
	}
	if _, err := Get(URL(s), 500*time.Millisecond); err == nil {
		t.Error("stopped instance still answers")
	}
	if st, err := r.Stats(bg, s.ID); err != nil || st != (az.Stats{}) {
		t.Errorf("Stats of a stopped instance = %+v, %v", st, err)
	}
	if err := r.Stop(bg, s.ID); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	ExpectNoExit(t, r)

	if err := r.Start(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	WaitServing(t, s, serveTimeout) // same id, same address and port
	list, _ := r.List(bg)
	if len(list) != 1 || list[0].ID != s.ID || list[0].Addr != s.Addr || list[0].Port != s.Port || list[0].State != az.StateRunning {
		t.Fatalf("after Start: %+v", list)
	}
	if err := r.Start(bg, s.ID); err != nil {
		t.Errorf("Start of a running instance: %v", err)
	}
	ExpectNoExit(t, r)
}

func (c contract) pauseResume(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.53")
	WaitServing(t, s, serveTimeout)

	if err := r.Pause(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if st := StateOf(t, r, s.ID); st != az.StatePaused {
		t.Fatalf("state after Pause = %s", st)
	}
	if err := r.Pause(bg, s.ID); err != nil {
		t.Errorf("second Pause: %v", err)
	}
	_, err := Get(URL(s), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("request to a paused instance: %v, want a timeout", err)
	}
	if err := r.Resume(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	WaitServing(t, s, serveTimeout)
	if st := StateOf(t, r, s.ID); st != az.StateRunning {
		t.Fatalf("state after Resume = %s", st)
	}
	ExpectNoExit(t, r)
}

func (c contract) killShowsOnExited(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.54")
	WaitServing(t, s, serveTimeout)
	if err := r.Kill(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("Exited reported %s, want %s", id, s.ID)
		}
	case <-time.After(exitedTimeout):
		t.Fatalf("kill not reported on Exited within %s", exitedTimeout)
	}
	if st := StateOf(t, r, s.ID); st != az.StateStopped {
		t.Errorf("state after Kill = %s, want stopped", st)
	}
	if _, err := Get(URL(s), 500*time.Millisecond); err == nil {
		t.Error("killed instance still answers")
	}
	// A killed instance can be started again, like a stopped one.
	if err := r.Start(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	WaitServing(t, s, serveTimeout)
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Errorf("Terminate after Kill: %v", err)
	}
	ExpectNoExit(t, r)
}

// A crash does not wait for the boot: Kill right after Launch, while the
// instance may still be pending, is taken like any other, and the death is
// reported. A stopped instance cannot be killed (IncorrectInstanceState).
func (c contract) killWhileBooting(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.58")
	if err := r.Kill(bg, s.ID); err != nil {
		t.Fatalf("Kill right after Launch: %v", err)
	}
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("Exited reported %s, want %s", id, s.ID)
		}
	case <-time.After(exitedTimeout):
		t.Fatalf("kill not reported on Exited within %s", exitedTimeout)
	}
	if st := StateOf(t, r, s.ID); st != az.StateStopped {
		t.Errorf("state after Kill = %s, want stopped", st)
	}
	if err := r.Kill(bg, s.ID); !errors.Is(err, az.ErrIncorrectInstanceState) {
		t.Errorf("Kill of a stopped instance = %v, want IncorrectInstanceState", err)
	}
	ExpectNoExit(t, r)
}

// A start that fails (here: its context is already canceled) leaves a
// stopped instance stopped, as EC2 does; the next start boots it.
func (c contract) failedStartLeavesStopped(t *testing.T) {
	r := c.newRuntime(t)
	s := c.launch(t, r, "127.0.1.59")
	WaitServing(t, s, serveTimeout)
	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := r.Start(ctx, s.ID); err == nil {
		t.Fatal("Start with a canceled context succeeded")
	}
	if st := StateOf(t, r, s.ID); st != az.StateStopped {
		t.Fatalf("state after a failed start = %s, want stopped", st)
	}
	if _, err := Get(URL(s), 500*time.Millisecond); err == nil {
		t.Error("instance answers after a failed start")
	}
	if err := r.Start(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	WaitServing(t, s, serveTimeout)
	ExpectNoExit(t, r)
}

func (c contract) list(t *testing.T) {
	r := c.newRuntime(t)
	a := c.launch(t, r, "127.0.2.55")
	b := c.launch(t, r, "127.0.3.55")
	list, err := r.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List = %+v, want 2 instances", list)
	}
	if list[0].ID >= list[1].ID {
		t.Errorf("List not sorted by id: %s, %s", list[0].ID, list[1].ID)
	}
	for _, in := range list {
		want := a
		if in.ID == b.ID {
			want = b
		}
		if in.ID != want.ID || in.Addr != want.Addr || in.Port != want.Port || in.Zone != want.Zone.Name || in.Type != want.Type.Name || in.RunID == "" {
			t.Errorf("listed %+v for spec %s on %s:%d in %s", in, want.ID, want.Addr, want.Port, want.Zone.Name)
		}
	}
}

func (c contract) closeIdempotent(t *testing.T) {
	r := c.newRuntime(t)
	var specs []az.Spec
	for _, addr := range []string{"127.0.1.56", "127.0.2.56", "127.0.3.56"} {
		specs = append(specs, c.launch(t, r, addr))
	}
	for _, s := range specs {
		WaitServing(t, s, serveTimeout)
	}
	if err := r.Pause(bg, specs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(bg, specs[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, s := range specs {
		if _, err := Get(URL(s), 500*time.Millisecond); err == nil {
			t.Errorf("instance %s answers after Close", s.ID)
		}
	}
	if _, err := r.Launch(bg, c.spec(t, "127.0.1.57")); err == nil {
		t.Error("Launch after Close succeeded")
	}
}

// URL is the instance's health check URL.
func URL(s az.Spec) string {
	return "http://" + netip.AddrPortFrom(s.Addr, uint16(s.Port)).String() + "/health"
}

// Response is what Get read.
type Response struct {
	InstanceID string // X-Instance-Id
	Body       string
}

// Get makes one request with a timeout (no keep-alive) and returns a 200's
// X-Instance-Id header and body.
func Get(u string, timeout time.Duration) (Response, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return Response{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	return Response{resp.Header.Get("X-Instance-Id"), strings.TrimSpace(string(b))}, err
}

// WaitServing waits until the instance answers 200 on /health naming
// itself, and fails the test after limit.
func WaitServing(t testing.TB, s az.Spec, limit time.Duration) {
	t.Helper()
	var last error
	deadline := time.Now().Add(limit)
	for {
		resp, err := Get(URL(s), time.Second)
		if err == nil && (resp.InstanceID == string(s.ID) || strings.Contains(resp.Body, string(s.ID))) {
			return
		}
		if err == nil {
			err = fmt.Errorf("answered as %q: %q", resp.InstanceID, resp.Body)
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not serving on %s after %s: %v", s.ID, URL(s), limit, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StateOf is the instance's state as List reports it; terminated when it
// is not listed.
func StateOf(t testing.TB, r az.Runtime, id az.InstanceID) az.State {
	t.Helper()
	list, err := r.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == id {
			return in.State
		}
	}
	return az.StateTerminated
}

// ExpectNoExit fails the test if the runtime reports an exit within a
// short window.
func ExpectNoExit(t testing.TB, r az.Runtime) {
	t.Helper()
	select {
	case id := <-r.Exited():
		t.Errorf("instance %s reported on Exited, though nothing died on its own", id)
	case <-time.After(quietWindow):
	}
}
