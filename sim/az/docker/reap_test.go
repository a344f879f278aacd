package docker

import (
	"bufio"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

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

	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/internal/runlock"
	"github.com/simplydone/lab/sim/az"
)

// childLabEnv makes the test binary act as a lab that launches one
// container, prints its run id and container id as JSON and then waits to
// be killed.
const childLabEnv = "LAB_DOCKER_TEST_CHILD_LAB"

type childReport struct{ RunID, ContainerID string }

func childLab() {
	var c struct{ RunID, Spin, Addr, Port, StateDir string }
	if err := json.Unmarshal([]byte(os.Getenv(childLabEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	self, err := osproc.Self()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// The run holds its lock for its whole life, as lab.Start does.
	held, err := runlock.Hold(c.StateDir, runlock.Owner{RunID: c.RunID, Process: self})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer held.Release() // never reached: keeps the lock's file from the collector
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
	stateDir := t.TempDir()
	cfg, _ := json.Marshal(map[string]string{"RunID": run, "Spin": spinBin, "StateDir": stateDir,
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
	if _, err := Reap(bg, stateDir, quiet()); err != nil {
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
	if _, err := os.Stat(runlock.Path(stateDir, run)); err != nil {
		t.Fatalf("the killed lab's lock file: %v", err)
	}
	start := time.Now()
	n, err := Reap(bg, stateDir, quiet())
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
	stateDir := t.TempDir() // no lock files: owners are judged by their identity
	d := spec(t, spinBin, "127.0.1.66", nil)
	launch(t, dead, d)

	live := newRuntime(t)
	l := spec(t, spinBin, "127.0.2.66", nil)
	launch(t, live, l)
	waitServing(t, d)
	waitServing(t, l)

	n, err := Reap(bg, stateDir, quiet())
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

// A container is removed only when it carries every one of the lab's
// labels and the lab's name; its volumes stay. A run whose lock is held is
// alive whatever its owner labels say.
func TestReapRemovesOnlyWhatCarriesEveryLabel(t *testing.T) {
	dead := newRuntime(t)
	dead.owner[LabelOwnerPID] = strconv.Itoa(deadPID(t))
	dead.owner[LabelOwnerStart] = "1"
	d := spec(t, spinBin, "127.0.1.67", nil)
	launch(t, dead, d)
	cli := mustClient(t)
	insp, err := cli.ContainerInspect(bg, dead.entry(d.ID).cid)
	if err != nil {
		t.Fatal(err)
	}
	run := dead.opts.RunID
	vol, err := cli.VolumeCreate(bg, volume.CreateOptions{Name: "labtest-" + run})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.VolumeRemove(bg, vol.Name, true) })

	// Containers of the dead run, made by hand: each lacks one thing.
	mk := func(name string, drop string, mounts []mount.Mount) string {
		t.Helper()
		labels := map[string]string{}
		for k, v := range insp.Config.Labels {
			if k != drop {
				labels[k] = v
			}
		}
		labels[LabelInstance] = "i-" + fmt.Sprintf("%017x", runSeq.Add(1)+1<<40)
		if name == "" {
			name = ContainerName(run, az.InstanceID(labels[LabelInstance]))
		}
		c, err := cli.ContainerCreate(bg, &container.Config{Image: insp.Config.Image, Labels: labels, User: User},
			&container.HostConfig{NetworkMode: "none", Mounts: mounts}, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.ContainerRemove(bg, c.ID, container.RemoveOptions{Force: true}) })
		return c.ID
	}
	foreign := map[string]string{
		"no owner uid":     mk("", LabelOwnerUID, nil),
		"no boot id":       mk("", LabelOwnerBoot, nil),
		"no zone":          mk("", LabelZone, nil),
		"not the lab name": mk("someone-else-"+run, "", nil),
	}
	withVolume := mk("", "", []mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: "/vol"}})

	// While the run holds its lock nothing of it is touched, although its
	// owner pid is dead.
	stateDir := t.TempDir()
	held, err := runlock.Hold(stateDir, runlock.Owner{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Reap(bg, stateDir, quiet()); err != nil || n != 0 {
		t.Fatalf("Reap of a run holding its lock = %d, %v; want 0", n, err)
	}
	if got := countRun(t, run); got != 6 {
		t.Fatalf("run has %d containers after Reap under its lock, want 6", got)
	}
	held.Release()

	n, err := Reap(bg, stateDir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("Reap removed %d, want the run's own 2", n)
	}
	for why, id := range foreign {
		if _, err := cli.ContainerInspect(bg, id); err != nil {
			t.Errorf("container with %s was removed: %v", why, err)
		}
	}
	if _, err := cli.ContainerInspect(bg, withVolume); err == nil {
		t.Error("the run's own container with a volume was not removed")
	}
	if _, err := cli.VolumeInspect(bg, vol.Name); err != nil {
		t.Errorf("the volume went with the container: %v", err)
	}
	// The runtime's own Close leaves the foreign ones too.
	for _, id := range foreign {
		_ = cli.ContainerRemove(bg, id, container.RemoveOptions{Force: true})
	}
}
