package process

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// childLabEnv makes the test binary act as a lab that launches one instance,
// prints it as JSON and then waits to be killed.
const childLabEnv = "LAB_PROCESS_TEST_CHILD_LAB"

type childReport struct {
	PID      int
	StateDir string
	RunID    string
	Cgroups  []string
}

func childLab() {
	var c struct{ StateDir, RunID, Spin, Addr, Port string }
	if err := json.Unmarshal([]byte(os.Getenv(childLabEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	spinBin = c.Spin
	r, err := New(Options{RunID: c.RunID, StateDir: c.StateDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	port, _ := strconv.Atoi(c.Port)
	in, err := r.Launch(context.Background(), az.Spec{
		ID: "i-0000000000000c0de", Zone: az.Zone{Name: "us-east-1a"}, Addr: netip.MustParseAddr(c.Addr), Port: port,
		Type: az.InstanceType{Name: "t3.micro", CPU: 0.25, MemoryMiB: 128}, Command: []string{spinBin},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_ = json.NewEncoder(os.Stdout).Encode(childReport{in.PID, c.StateDir, c.RunID, r.entry(in.ID).cg.dirs()})
	select {} // until killed
}

// A lab that dies without closing its runtime takes its instances with it
// (Pdeathsig), and Reap then removes what it left on disk and in cgroups.
func TestCrashedLabLeavesNothingAfterReap(t *testing.T) {
	stateDir := t.TempDir()
	cfg, _ := json.Marshal(map[string]string{"StateDir": stateDir, "RunID": "crash-" + itoa(os.Getpid()), "Spin": spinBin,
		"Addr": "127.0.1.40", "Port": itoa(freePort(t, netip.MustParseAddr("127.0.1.40")))})
	lab := exec.Command(os.Args[0], "-test.run=^$")
	lab.Env = append(os.Environ(), childLabEnv+"="+string(cfg))
	lab.Stderr = os.Stderr
	out, err := lab.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.Start(); err != nil {
		t.Fatal(err)
	}
	var rep childReport
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&rep); err != nil {
		_ = lab.Process.Kill()
		_ = lab.Wait()
		t.Fatalf("child lab: %v", err)
	}
	if !alive(rep.PID) {
		t.Fatalf("instance %d of the child lab is not running", rep.PID)
	}

	_ = lab.Process.Signal(syscall.SIGKILL)
	_ = lab.Wait()
	eventually(t, 5*time.Second, "instance dies with its lab", func() bool { return !alive(rep.PID) })

	n, err := Reap(context.Background(), stateDir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("Reap killed %d; Pdeathsig should have left nothing to kill", n)
	}
	if _, err := os.Stat(filepath.Join(stateDir, rep.RunID)); !os.IsNotExist(err) {
		t.Errorf("records of the crashed run still there: %v", err)
	}
	for _, d := range rep.Cgroups {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s still there", d)
		}
		if _, err := os.Stat(filepath.Dir(d)); !os.IsNotExist(err) {
			t.Errorf("cgroup parent %s still there", filepath.Dir(d))
		}
	}
}

// Without cgroups the runtime says so and measures CPU from the process.
func TestWithoutCgroupsMeasuresTheProcess(t *testing.T) {
	r := newRuntime(t)
	if err := r.cg.removeParents(); err != nil {
		t.Fatal(err)
	}
	r.cg = &cgroups{reason: "disabled by the test"}
	if ok, why := r.Enforced(); ok || why == "" {
		t.Fatalf("Enforced() = %v, %q", ok, why)
	}
	s := spec(t, "127.0.1.41", map[string]string{"SPIN": "1"})
	s.Type.CPU = 0.5
	launch(t, r, s)
	waitServing(t, s)
	if _, err := r.Stats(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	measure(time.Second)
	st, err := r.Stats(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unenforced CPUUtilization %.1f%% of a 0.5 share", st.CPUUtilization)
	if st.CPUUtilization < 60 {
		t.Errorf("spinning, unlimited instance reads %.1f%%", st.CPUUtilization)
	}
	if st.MemoryBytes == 0 {
		t.Error("MemoryBytes = 0")
	}
}
