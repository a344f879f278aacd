package process

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

var bg = context.Background()

func TestLaunchServesOnItsAddress(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.10", map[string]string{"EXTRA": "yes"})
	in := launch(t, r, s)
	if in.State != az.StateRunning || in.PID == 0 || in.Addr != s.Addr || in.Port != s.Port || in.RunID != r.opts.RunID {
		t.Fatalf("launched instance = %+v", in)
	}
	waitServing(t, s)

	env, err := os.ReadFile("/proc/" + itoa(in.PID) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(env), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	// As root the instance runs as nobody, and gets the data directory
	// where nobody can reach it: s.DataDir, or where s.DataDir now links to.
	data, err := filepath.EvalSymlinks(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"LAB_RUN_ID": r.opts.RunID, "LAB_INSTANCE_ID": string(s.ID), "LAB_ZONE": "us-east-1a",
		"LAB_ADDR": "127.0.1.10", "LAB_PORT": itoa(s.Port), "LAB_DATA_DIR": data, "EXTRA": "yes",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("env %s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "PATH" && k != "HOME" {
			t.Errorf("unexpected env %s passed to the instance", k)
		}
	}
	if _, err := os.Stat(recordPath(r.opts.StateDir, r.opts.RunID, string(s.ID))); err != nil {
		t.Errorf("record: %v", err)
	}
	if _, err := r.Launch(bg, s); err == nil {
		t.Error("launching the same id twice succeeded")
	}
}

func TestLaunchRejectsBadSpecs(t *testing.T) {
	r := newRuntime(t)
	good := spec(t, "127.0.1.11", nil)
	for name, mutate := range map[string]func(*az.Spec){
		"no id":        func(s *az.Spec) { s.ID = "" },
		"no command":   func(s *az.Spec) { s.Command = nil },
		"not loopback": func(s *az.Spec) { s.Addr = netip.MustParseAddr("192.0.2.1") },
		"bad port":     func(s *az.Spec) { s.Port = 0 },
		"other run":    func(s *az.Spec) { s.RunID = "someone-else" },
		"no program":   func(s *az.Spec) { s.Command = []string{"lab-no-such-program"} },
	} {
		s := good
		mutate(&s)
		if _, err := r.Launch(bg, s); err == nil {
			t.Errorf("%s: launch succeeded", name)
		}
	}
	if list, _ := r.List(bg); len(list) != 0 {
		t.Errorf("failed launches left %d instances", len(list))
	}
}

func TestTerminateLeavesNothing(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.12", nil)
	in := launch(t, r, s)
	waitServing(t, s)
	cgDirs := r.entry(s.ID).cg.dirs()

	if err := r.Terminate(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if alive(in.PID) {
		t.Errorf("pid %d still alive after Terminate", in.PID)
	}
	if _, err := os.Stat(recordPath(r.opts.StateDir, r.opts.RunID, string(s.ID))); !os.IsNotExist(err) {
		t.Errorf("record still there: %v", err)
	}
	for _, d := range cgDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s still there", d)
		}
	}
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if list, _ := r.List(bg); len(list) != 0 {
		t.Errorf("List after Terminate = %v", list)
	}
	select {
	case id := <-r.Exited():
		t.Errorf("terminated instance %s reported on Exited", id)
	default:
	}
}

func TestUnknownInstanceIsNotFound(t *testing.T) {
	r := newRuntime(t)
	id := az.InstanceID("i-00000000000000000")
	_, statsErr := r.Stats(bg, id)
	for name, err := range map[string]error{
		"Stop": r.Stop(bg, id), "Start": r.Start(bg, id), "Pause": r.Pause(bg, id),
		"Resume": r.Resume(bg, id), "Terminate": r.Terminate(bg, id), "Stats": statsErr,
	} {
		if !errors.Is(err, az.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}
}

func TestStopStartKeepsIdentity(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.13", nil)
	first := launch(t, r, s)
	waitServing(t, s)

	if err := r.Stop(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, r, s.ID); st != az.StateStopped {
		t.Fatalf("state after Stop = %s", st)
	}
	if alive(first.PID) {
		t.Errorf("pid %d alive after Stop", first.PID)
	}
	if _, err := get(url(s), 500*time.Millisecond); err == nil {
		t.Error("stopped instance still answers")
	}
	if st, err := r.Stats(bg, s.ID); err != nil || st != (az.Stats{}) {
		t.Errorf("Stats of a stopped instance = %+v, %v", st, err)
	}
	if err := r.Stop(bg, s.ID); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if err := r.Start(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	waitServing(t, s) // same id, same address and port
	list, _ := r.List(bg)
	if len(list) != 1 || list[0].ID != s.ID || list[0].Addr != s.Addr || list[0].Port != s.Port ||
		list[0].State != az.StateRunning || list[0].PID == first.PID {
		t.Fatalf("after Start: %+v (first pid %d)", list, first.PID)
	}
	if err := r.Start(bg, s.ID); err != nil {
		t.Errorf("Start of a running instance: %v", err)
	}
}

func TestPauseFreezesResumeThaws(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.14", nil)
	launch(t, r, s)
	waitServing(t, s)

	if err := r.Pause(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, r, s.ID); st != az.StatePaused {
		t.Fatalf("state after Pause = %s", st)
	}
	_, err := get(url(s), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("request to a paused instance: %v, want a timeout", err)
	}
	if err := r.Resume(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	waitServing(t, s)
	if st := stateOf(t, r, s.ID); st != az.StateRunning {
		t.Fatalf("state after Resume = %s", st)
	}
}

func TestCrashShowsOnExited(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.15", map[string]string{"CRASH": "1"})
	launch(t, r, s)
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("Exited reported %s, want %s", id, s.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("crash not reported on Exited within 10s")
	}
	if st := stateOf(t, r, s.ID); st != az.StateStopped {
		t.Errorf("state after crash = %s, want stopped", st)
	}
	eventually(t, 5*time.Second, "record removed", func() bool {
		_, err := os.Stat(recordPath(r.opts.StateDir, r.opts.RunID, string(s.ID)))
		return os.IsNotExist(err)
	})
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Errorf("Terminate after crash: %v", err)
	}
}

func TestKillShowsOnExited(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "127.0.1.17", nil)
	in := launch(t, r, s)
	if err := r.Kill(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("Exited reported %s, want %s", id, s.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kill not reported on Exited within 10s")
	}
	if err := syscall.Kill(in.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d still alive after Kill: %v", in.PID, err)
	}
	if st := stateOf(t, r, s.ID); st != az.StateStopped {
		t.Errorf("state after kill = %s, want stopped", st)
	}
}

func TestCloseIsIdempotentAndLeavesNothing(t *testing.T) {
	r := newRuntime(t)
	var pids []int
	for _, addr := range []string{"127.0.1.16", "127.0.2.16", "127.0.3.16"} {
		s := spec(t, addr, nil)
		pids = append(pids, launch(t, r, s).PID)
	}
	if err := r.Pause(bg, r.mustFirstID(t)); err != nil {
		t.Fatal(err)
	}
	parents := []string{r.cg.cpu, r.cg.acct, r.cg.mem}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Close", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(r.opts.StateDir, r.opts.RunID)); !os.IsNotExist(err) {
		t.Errorf("record directory still there: %v", err)
	}
	for _, d := range parents {
		if _, err := os.Stat(d); d != "" && !os.IsNotExist(err) {
			t.Errorf("cgroup parent %s still there", d)
		}
	}
	if _, err := r.Launch(bg, spec(t, "127.0.1.17", nil)); err == nil {
		t.Error("Launch after Close succeeded")
	}
}

func (r *Runtime) mustFirstID(t *testing.T) az.InstanceID {
	list, err := r.List(bg)
	if err != nil || len(list) == 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
	return list[0].ID
}
