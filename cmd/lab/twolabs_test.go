package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
)

// TestTwoLabsAtOnce runs a real `lab up` in a process of its own, then
// starts a second lab on the same addresses: it is refused at once with
// exit 2 naming the live run and its pid, and the first keeps serving.
// `lab down` leaves the live run alone; once the first lab is killed, it
// finds the dead run through the state directory (not through --runs-dir),
// replays its journal and sweeps its lock.
func TestTwoLabsAtOnce(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_STATE_HOME", state) // this test's own state directory, in both processes
	stackFile := write(t, dir, "stack.yaml", fmt.Sprintf(testStack, 18494, 18494))
	runs1, runs2, other := filepath.Join(dir, "runs1"), filepath.Join(dir, "runs2"), filepath.Join(dir, "other")

	// The first lab is the real binary TestMain built, in a process of its own.
	first := exec.Command(labBin, "up", "--stack", stackFile, "--speed", "20", "--driver", "process", "--runs-dir", runs1)
	first.Stderr = os.Stderr
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_ = first.Wait()
		close(done)
	}()
	t.Cleanup(func() { _ = first.Process.Kill(); <-done })

	var url string
	for deadline := time.After(60 * time.Second); url == ""; {
		select {
		case l := <-lines:
			if u, ok := strings.CutPrefix(l, "URL: "); ok {
				url = strings.TrimSpace(u)
			}
		case <-done:
			t.Fatal("the first lab exited before serving")
		case <-deadline:
			t.Fatal("the first lab printed no URL within 60 s")
		}
	}
	// A fresh connection per request: an idle keep-alive connection the
	// load balancer closes at its idle timeout (3 s at speed 20) races
	// the next request, which says nothing about the lab serving.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		resp, err := client.Get(url + "api/todos")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	}
	// serves waits, within a deadline, for one 200: a lab that stopped
	// serving never answers one, while a single request may fail as it
	// would on AWS (a target's closed keep-alive is a 502 there too).
	serves := func(within time.Duration) bool {
		for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
			why := get()
			if why == "" {
				return true
			}
			if time.Now().After(deadline) {
				t.Logf("GET %sapi/todos: %s", url, why)
				return false
			}
			t.Logf("GET %sapi/todos: %s (asking again)", url, why)
		}
	}
	if !serves(60 * time.Second) {
		t.Fatalf("the first lab does not serve %s within 60 s", url)
	}
	ents, _ := os.ReadDir(runs1)
	if len(ents) != 1 {
		t.Fatalf("runs1 has %d entries", len(ents))
	}
	runID := ents[0].Name()
	pid := strconv.Itoa(first.Process.Pid)

	// A second lab up, and a second lab run, on the same addresses.
	sc := write(t, dir, "short.yaml", `name: short
stack: stack.yaml
speed: 20
load:
  phases: [{name: steady, duration: 1m, rate: 5}]
slos: [success_rate >= 50%]
`)
	for _, second := range [][]string{
		{"up", "--stack", stackFile, "--speed", "20", "--driver", "process", "--runs-dir", runs2},
		{"run", sc, "--driver", "process", "--no-tui", "--out", runs2},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var o, e syncBuffer
		start := time.Now()
		code := run(ctx, second, &o, &e)
		cancel()
		took := time.Since(start)
		if code != exitUsage {
			t.Fatalf("lab %s beside a live run: exit %d, want 2\n%s\n%s", second[0], code, o.String(), e.String())
		}
		if !strings.Contains(e.String(), runID) || !strings.Contains(e.String(), "pid "+pid) {
			t.Errorf("lab %s's refusal does not name the live run %s and its pid %s:\n%s", second[0], runID, pid, e.String())
		}
		t.Logf("lab %s refused in %v: %s", second[0], took.Round(time.Millisecond), strings.TrimSpace(e.String()))
		if ents, _ := os.ReadDir(runs2); len(ents) != 0 {
			t.Errorf("the refused lab %s left a run directory", second[0])
		}
		if !serves(10 * time.Second) {
			t.Fatalf("the first lab stopped serving after lab %s was refused", second[0])
		}
	}

	// lab down leaves the live run alone.
	code, downOut, downErr := runLab(t, "down", "--runs-dir", runs1)
	if code != exitOK || !strings.Contains(downOut, "Reaped 0 process(es)") {
		t.Fatalf("lab down beside a live run: exit %d\n%s\n%s", code, downOut, downErr)
	}
	if !serves(10 * time.Second) {
		t.Fatal("the first lab stopped serving after lab down")
	}
	lockFile := filepath.Join(state, "lab", runID+".lock")
	if _, err := os.Stat(lockFile); err != nil {
		t.Fatalf("the live run's lock file: %v", err)
	}

	// The first lab dies without cleaning up, a fault of its own in effect.
	_ = first.Process.Signal(syscall.SIGKILL)
	<-done
	j, err := chaos.OpenFileJournal(filepath.Join(runs1, runID, "chaos.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Record(chaos.FaultInjected{N: 1, Action: chaos.StopInstance, Instance: "i-00000000000000001", Zone: "us-east-1a"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	code, downOut, downErr = runLab(t, "down", "--runs-dir", other) // not where the run is
	if code != exitOK {
		t.Fatalf("lab down after the crash: exit %d\n%s\n%s", code, downOut, downErr)
	}
	if !strings.Contains(downOut, filepath.Join(runs1, runID)+": chaos #1 stop-instance") {
		t.Errorf("lab down did not find the dead run's directory through the state directory:\n%s", downOut)
	}
	if _, err := os.Stat(lockFile); !os.IsNotExist(err) {
		t.Errorf("the dead run's lock file after lab down: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(processesOf(runID)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := processesOf(runID); len(left) > 0 {
		t.Errorf("processes of the dead run left after lab down: %v", left)
	}
}
