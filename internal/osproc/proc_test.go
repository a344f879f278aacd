package osproc

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestSameNamesOneProcess(t *testing.T) {
	ctx := context.Background()
	ct, err := CreateTime(ctx, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Same(ctx, os.Getpid(), ct) {
		t.Error("this process is not the same as itself")
	}
	if Same(ctx, os.Getpid(), ct+1) {
		t.Error("a different start time names the same process")
	}
	if Same(ctx, 0, ct) || Same(ctx, os.Getpid(), 0) {
		t.Error("no pid or no start time names a process")
	}

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !Zombie(cmd.Process.Pid) {
		t.Errorf("pid %d of a reaped child is not reported gone", cmd.Process.Pid)
	}
}

func TestHasEnv(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.Env = []string{"LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-1"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	// Until the child has exec'd, /proc shows the parent's environment.
	for deadline := time.Now().Add(5 * time.Second); !HasEnv(pid, "LAB_RUN_ID=r1"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the child's environment is not seen within 5 s")
		}
	}
	if !HasEnv(pid, "LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-1") {
		t.Error("the child's environment is not seen")
	}
	if HasEnv(pid, "LAB_RUN_ID=r1", "LAB_INSTANCE_ID=i-2") || HasEnv(pid, "LAB_RUN_ID=r") {
		t.Error("a value the child does not carry is seen")
	}
}
