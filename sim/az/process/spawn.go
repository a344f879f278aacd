package process

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"

	gproc "github.com/shirou/gopsutil/v3/process"

	"github.com/simplydone/lab/internal/capfile"
	"github.com/simplydone/lab/internal/osproc"
	"github.com/simplydone/lab/sim/az"
)

// proc is one run of an instance's command. The goroutine in wait owns
// cmd.Wait and closes done when the process is gone.
type proc struct {
	cmd      *exec.Cmd
	pid      int
	gp       *gproc.Process
	logFile  *os.File // closed by wait
	done     chan struct{}
	expected bool // guarded by the table's lock: Stop/Terminate/Close ended it
}

// spawn starts the instance's command. The table holds the instance's
// operation lock.
func (r *Runtime) spawn(ctx context.Context, in *instance) (az.Boot, error) {
	s := in.Spec
	path, err := az.ResolveCommand(s.Command[0])
	if err != nil {
		return az.Boot{}, err
	}
	if s.DataDir, err = r.data.prepare(s.DataDir); err != nil {
		return az.Boot{}, err
	}
	cmd := exec.Command(path, s.Command[1:]...)
	cmd.Env = environ(s, r.opts.RunID)
	cmd.SysProcAttr = sysProcAttr()
	// As root with a shim, the shim drops every privilege and runs the
	// program as nobody; else the user changes at the start.
	if !throughShim(cmd) && cmd.SysProcAttr.Credential != nil && !searchable(filepath.Dir(path), Nobody, Nobody) {
		// Only when nobody cannot reach the program by its path: a program
		// run through a descriptor sees $0 as /proc/self/fd/3 and keeps the
		// descriptor open, which breaks scripts that find their files by $0.
		fdPath, f, err := execThroughFD(path, &cmd.ExtraFiles)
		if err != nil {
			return az.Boot{}, fmt.Errorf("start %s: %w", path, err)
		}
		defer f.Close()
		cmd.Path = fdPath
	}
	cmd.WaitDelay = time.Second // a child holding the output pipe must not block Wait
	p := &proc{cmd: cmd, done: make(chan struct{})}
	if r.opts.LogDir != "" {
		w, f, err := capfile.Open(filepath.Join(r.opts.LogDir, string(s.ID)+".log"), cmp.Or(r.opts.LogLimit, capfile.Limit))
		if err != nil {
			return az.Boot{}, fmt.Errorf("instance log: %w", err)
		}
		p.logFile, cmd.Stdout, cmd.Stderr = f, w, w // capped per run; exec copies through a pipe (WaitDelay bounds it)
	} else {
		cmd.Stdout, cmd.Stderr = r.opts.Stdout, r.opts.Stderr
	}
	if in.cg != nil && in.cg.v2 {
		// Start the process inside its cgroup: nothing runs unlimited.
		fd, err := os.Open(in.cg.cpu)
		if err != nil {
			closeLog(p)
			return az.Boot{}, fmt.Errorf("open cgroup: %w", err)
		}
		defer fd.Close()
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(fd.Fd())
	}
	if err := r.startCmd(cmd); err != nil {
		closeLog(p)
		return az.Boot{}, fmt.Errorf("start %s: %w", path, err)
	}
	p.pid = cmd.Process.Pid
	if err := r.adopt(ctx, in, p); err != nil {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		_ = cmd.Wait()
		closeLog(p)
		return az.Boot{}, err
	}
	now := time.Now()
	base, _ := in.cg.usage() // a process's own counter starts at zero
	r.t.Lock()
	in.proc, in.lastCPU, in.lastAt = p, base, now
	r.t.Unlock()
	r.wg.Add(1)
	go r.wait(in, p) // after in.proc is set, so that an early death finds it
	return az.Boot{Started: now, Running: true, Log: []any{"pid", p.pid}}, nil
}

// startReq asks the starter goroutine to start a command.
type startReq struct {
	cmd  *exec.Cmd
	done chan error
}

// starter starts every command from one OS thread, locked for the life of
// the runtime: Pdeathsig fires when the thread that forked the child exits
// (not the process), and Go ends threads that a goroutine locked and left,
// so an ordinary goroutine's thread could take instances down with it.
//
// With a network namespace (Options.Isolate) the thread enters it once, so
// every process it forks is born there; it is then never unlocked, and ends
// with the starter.
func (r *Runtime) starter() {
	defer r.wg.Done()
	runtime.LockOSThread()
	var entered error
	if r.ns != nil {
		entered = r.ns.Enter()
	} else {
		defer runtime.UnlockOSThread()
	}
	for {
		select {
		case req := <-r.starts:
			if entered != nil {
				req.done <- entered
				continue
			}
			req.done <- req.cmd.Start()
		case <-r.stopStarter:
			return
		}
	}
}

func (r *Runtime) startCmd(cmd *exec.Cmd) error {
	inheritedOnce.Do(closeInheritedOnExec)
	req := startReq{cmd: cmd, done: make(chan error, 1)}
	select {
	case r.starts <- req:
		return <-req.done
	case <-r.stopStarter:
		return errors.New("runtime is closed")
	}
}

// adopt moves a fresh process into its cgroup (v1) and writes its record.
func (r *Runtime) adopt(ctx context.Context, in *instance, p *proc) error {
	if in.cg != nil && !in.cg.v2 {
		if err := in.cg.add(p.pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	gp, err := gproc.NewProcessWithContext(ctx, int32(p.pid))
	if err != nil {
		return fmt.Errorf("inspect pid %d: %w", p.pid, err)
	}
	id, err := osproc.Identify(p.pid)
	if err != nil {
		return fmt.Errorf("inspect pid %d: %w", p.pid, err)
	}
	p.gp = gp
	return writeRecord(r.opts.StateDir, record{
		RunID: r.opts.RunID, InstanceID: string(in.Spec.ID), Process: id, Owner: r.owner, Cgroups: in.cg.dirs(),
	})
}

// wait owns cmd.Wait for p. When the process ends it kills what is left in
// its cgroup, removes the record and, if nobody asked for the exit, reports
// the instance on Exited.
func (r *Runtime) wait(in *instance, p *proc) {
	defer r.wg.Done()
	err := p.cmd.Wait()
	closeLog(p)
	if in.cg != nil {
		for _, pid := range in.cg.procs() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if rerr := removeRecord(r.opts.StateDir, r.opts.RunID, string(in.Spec.ID)); rerr != nil {
		r.log.Warn("remove record", "instance", in.Spec.ID, "err", rerr)
	}
	r.t.Lock()
	unexpected := !p.expected
	if in.proc == p {
		in.proc = nil
		if unexpected {
			in.Exit()
		}
	}
	r.t.Unlock()
	close(p.done)
	if !unexpected {
		return
	}
	r.log.Warn("instance exited on its own", "instance", in.Spec.ID, "pid", p.pid, "status", err)
	r.t.Report(in.Spec.ID)
}

// end asks p to stop: SIGTERM (and SIGCONT, should it be paused) to its
// process group, then SIGKILL after the grace period or when ctx ends. It
// returns once the process is gone.
func (r *Runtime) end(ctx context.Context, p *proc) {
	signalGroup(p, syscall.SIGTERM)
	signalGroup(p, syscall.SIGCONT)
	t := time.NewTimer(r.opts.Grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	signalGroup(p, syscall.SIGKILL)
	<-p.done
}

// signalGroup signals p's process group while p has not been reaped.
func signalGroup(p *proc, sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	if p.pid <= 1 {
		return // kill(0) or kill(-1) would signal the lab's own group or everything
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(p.pid, sig)
	}
}

func closeLog(p *proc) {
	if p.logFile != nil {
		_ = p.logFile.Close()
		p.logFile = nil
	}
}

// environ is the instance's environment: the lab's PATH and HOME only, the
// spec's Env, and the LAB_ variables (which win over Env).
func environ(s az.Spec, runID string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.Env[k])
	}
	return append(env,
		"LAB_RUN_ID="+runID,
		"LAB_INSTANCE_ID="+string(s.ID),
		"LAB_ZONE="+s.Zone.Name,
		"LAB_ADDR="+s.Addr.String(),
		"LAB_PORT="+strconv.Itoa(s.Port),
		"LAB_DATA_DIR="+s.DataDir,
	)
}
