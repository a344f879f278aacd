package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// childLabEnv makes the test binary act as a lab that launches one
// container, prints its run id and container id as JSON and then waits to
// be killed.
const childLabEnv = "LAB_DOCKER_TEST_CHILD_LAB"

type childReport struct{ RunID, ContainerID string }

func childLab() {
	var c struct{ RunID, Spin, Addr, Port string }
	if err := json.Unmarshal([]byte(os.Getenv(childLabEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r, err := New(context.Background(), Options{RunID: c.RunID, Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	port, _ := strconv.Atoi(c.Port)
	in, err := r.Launch(context.Background(), az.Spec{
		ID: "i-0000000000000c0de", Zone: az.Zone{Name: "us-east-1a"}, Addr: netip.MustParseAddr(c.Addr), Port: port,
		Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{c.Spin},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_ = json.NewEncoder(os.Stdout).Encode(childReport{c.RunID, r.entry(in.ID).cid})
	select {} // until killed
}

// A lab that dies without closing its runtime leaves its containers
// running (nothing like Pdeathsig reaches them); Reap removes them.
func TestCrashedLabLeavesNothingAfterReap(t *testing.T) {
	needEngine(t)
	run := "crash-" + strconv.Itoa(os.Getpid())
	cfg, _ := json.Marshal(map[string]string{"RunID": run, "Spin": spinBin,
		"Addr": "127.0.1.69", "Port": strconv.Itoa(freePort(t, netip.MustParseAddr("127.0.1.69")))})
	lab := exec.Command(os.Args[0], "-test.run=^$")
	lab.Env = append(os.Environ(), childLabEnv+"="+string(cfg))
	lab.Stderr = os.Stderr
	out, err := lab.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cli := mustClient(t)
	if err := lab.Start(); err != nil {
		t.Fatal(err)
	}
	var rep childReport
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&rep); err != nil {
		_ = lab.Process.Kill()
		_ = lab.Wait()
		t.Fatalf("child lab: %v", err)
	}
	t.Cleanup(func() { _ = removeContainer(bg, cli, rep.ContainerID) })

	// Reap leaves a live lab's container alone.
	if _, err := Reap(bg, quiet()); err != nil {
		t.Fatal(err)
	}
	if n := countRun(t, run); n != 1 {
		t.Fatalf("live child lab has %d containers after Reap, want 1", n)
	}

	_ = lab.Process.Signal(syscall.SIGKILL)
	_ = lab.Wait()
	c, err := cli.ContainerInspect(bg, rep.ContainerID)
	if err != nil || !c.State.Running {
		t.Fatalf("container of the killed lab: running %v, %v; want it left running", c.State != nil && c.State.Running, err)
	}
	start := time.Now()
	n, err := Reap(bg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Reap removed %d containers in %v", n, time.Since(start).Round(time.Millisecond))
	if n < 1 {
		t.Errorf("Reap removed %d, want at least 1", n)
	}
	if got := countRun(t, run); got != 0 {
		t.Errorf("crashed run still has %d containers", got)
	}
}

func TestReapRemovesOnlyDeadOwnersContainers(t *testing.T) {
	dead := newRuntime(t)
	// Pretend its lab died: a pid that is gone.
	dead.owner[LabelOwnerPID] = strconv.Itoa(deadPID(t))
	dead.owner[LabelOwnerStart] = "1"
	d := spec(t, spinBin, "127.0.1.66", nil)
	launch(t, dead, d)

	live := newRuntime(t)
	l := spec(t, spinBin, "127.0.2.66", nil)
	launch(t, live, l)
	waitServing(t, d)
	waitServing(t, l)

	n, err := Reap(bg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("Reap removed %d, want at least the dead run's 1", n)
	}
	if got := countRun(t, dead.opts.RunID); got != 0 {
		t.Errorf("dead run still has %d containers", got)
	}
	if got := countRun(t, live.opts.RunID); got != 1 {
		t.Errorf("live run has %d containers, want 1", got)
	}
	waitServing(t, l)
	// The runtime whose container was reaped sees it die.
	select {
	case id := <-dead.Exited():
		if id != d.ID {
			t.Errorf("Exited = %s", id)
		}
	case <-time.After(10 * time.Second):
		t.Error("reaped instance not reported on Exited")
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
