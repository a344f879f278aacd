package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// cgroupRoot is where cgroup file systems are mounted on Linux.
const cgroupRoot = "/sys/fs/cgroup"

// cfsPeriod is the CFS period the lab writes on cgroup v1 and v2: 10 ms
// rather than the kernel's 100 ms, so that a busy instance is throttled in
// short slices, as a slower CPU would be, instead of freezing for up to
// three quarters of every 100 ms (which a health check would see as a
// timeout no real instance would give).
const cfsPeriod = 10000

// cgroups is what the runtime can use of the machine's cgroups: one parent
// directory named lab-<runid> per controller it could create, nested under
// the lab's own cgroup in that hierarchy.
type cgroups struct {
	v2     bool
	cpu    string // parent dir for the cpu controller ("" when unusable)
	acct   string // parent dir for CPU accounting (v1 cpuacct, or the v2 dir)
	mem    string // parent dir for the memory controller
	reason string // why enforcement is off or partial, in plain words
}

// instanceCgroup is the set of cgroup directories of one instance.
type instanceCgroup struct {
	v2             bool
	cpu, acct, mem string
}

// setupCgroups finds the controllers and creates the run's parent
// directories. It never fails: what cannot be used is left empty and said
// in reason.
func setupCgroups(runID string) *cgroups {
	name := "lab-" + runID
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return setupV2(name)
	}
	return setupV1(name)
}

func setupV1(name string) *cgroups {
	cg := &cgroups{}
	mounts := v1Mounts()
	own := ownCgroups()
	parent := func(ctrl string) (string, error) {
		m, ok := mounts[ctrl]
		if !ok {
			return "", fmt.Errorf("no %s controller mounted", ctrl)
		}
		dir := filepath.Join(m.point, v1Rel(own[ctrl], m.root), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		return dir, nil
	}
	var errs []string
	var err error
	if cg.cpu, err = parent("cpu"); err != nil {
		errs = append(errs, "cpu: "+err.Error())
	}
	if cg.acct, err = parent("cpuacct"); err != nil {
		cg.acct = ""
	}
	if cg.mem, err = parent("memory"); err != nil {
		errs = append(errs, "memory: "+err.Error())
	}
	cg.reason = strings.Join(errs, "; ")
	return cg
}

// v1Rel is where a v1 controller's run directories go below its mount:
// this process's own cgroup in it, or the mount's root when that cannot
// be placed.
func v1Rel(own, root string) string {
	rel, ok := strings.CutPrefix(own, root)
	if !ok {
		return "/"
	}
	return rel
}

// runCgroupDirs are the lab-<run> directories setupCgroups makes for runID,
// placed from this process's own cgroups (nothing is created): where the
// reaper looks for a dead run's.
func runCgroupDirs(runID string) []string {
	name := "lab-" + runID
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return []string{filepath.Join(cgroupRoot, ownCgroups()[""], name)}
	}
	mounts, own := v1Mounts(), ownCgroups()
	var dirs []string
	for _, ctrl := range []string{"cpu", "cpuacct", "memory"} {
		if m, ok := mounts[ctrl]; ok {
			dirs = append(dirs, filepath.Join(m.point, v1Rel(own[ctrl], m.root), name))
		}
	}
	return dirs
}

func setupV2(name string) *cgroups {
	cg := &cgroups{v2: true}
	base := filepath.Join(cgroupRoot, ownCgroups()[""])
	avail := fields(filepath.Join(base, "cgroup.controllers"))
	if !avail["cpu"] {
		cg.reason = fmt.Sprintf("cgroup v2: the cpu controller is not delegated to %s", base)
		return cg
	}
	enable := "+cpu"
	if avail["memory"] {
		enable += " +memory"
	}
	sub := filepath.Join(base, "cgroup.subtree_control")
	if !fields(sub)["cpu"] {
		if err := os.WriteFile(sub, []byte(enable), 0); err != nil {
			cg.reason = fmt.Sprintf("cgroup v2: cannot enable cpu under %s: %v", base, err)
			return cg
		}
	}
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		cg.reason = fmt.Sprintf("cgroup v2: %v", err)
		return cg
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(enable), 0); err != nil {
		_ = os.Remove(dir)
		cg.reason = fmt.Sprintf("cgroup v2: cannot enable controllers in %s: %v", dir, err)
		return cg
	}
	cg.cpu, cg.acct = dir, dir
	if fields(filepath.Join(dir, "cgroup.subtree_control"))["memory"] {
		cg.mem = dir
	} else {
		cg.reason = "cgroup v2: memory controller not delegated"
	}
	return cg
}

// enforced reports whether CPU shares are enforced, and a sentence saying so.
func (c *cgroups) enforced() (bool, string) {
	if c.cpu == "" {
		return false, "CPU shares are NOT enforced (no usable cgroup: " + c.reason + "); instances may use whole cores"
	}
	v, mem := "v1", "memory limits enforced"
	if c.v2 {
		v = "v2"
	}
	if c.mem == "" {
		mem = "memory limits not enforced (" + c.reason + ")"
	}
	return true, fmt.Sprintf("CPU shares enforced with cgroup %s (%s); %s", v, c.cpu, mem)
}

// create makes the instance's directories and writes its limits.
func (c *cgroups) create(id string, cpu float64, memMiB int) (*instanceCgroup, error) {
	if c.cpu == "" {
		return nil, nil
	}
	g := &instanceCgroup{v2: c.v2}
	mk := func(parent string) (string, error) {
		if parent == "" {
			return "", nil
		}
		dir := filepath.Join(parent, id)
		return dir, os.MkdirAll(dir, 0o755)
	}
	var err error
	if g.cpu, err = mk(c.cpu); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	if g.acct, err = mk(c.acct); err != nil {
		g.acct = ""
	}
	if g.mem, err = mk(c.mem); err != nil {
		g.mem = ""
	}
	if err := g.setLimits(cpu, memMiB); err != nil {
		_ = g.remove(context.Background())
		return nil, err
	}
	return g, nil
}

func (g *instanceCgroup) setLimits(cpu float64, memMiB int) error {
	quota, period := cpuQuota(cpu)
	var err error
	if g.v2 {
		err = os.WriteFile(filepath.Join(g.cpu, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0)
	} else {
		err = errors.Join(
			os.WriteFile(filepath.Join(g.cpu, "cpu.cfs_period_us"), fmt.Append(nil, period), 0),
			os.WriteFile(filepath.Join(g.cpu, "cpu.cfs_quota_us"), fmt.Append(nil, quota), 0))
	}
	if err != nil {
		return fmt.Errorf("cgroup cpu limit: %w", err)
	}
	if g.mem != "" && memMiB > 0 {
		file := "memory.limit_in_bytes"
		if g.v2 {
			file = "memory.max"
		}
		if err := os.WriteFile(filepath.Join(g.mem, file), fmt.Append(nil, int64(memMiB)<<20), 0); err != nil {
			return fmt.Errorf("cgroup memory limit: %w", err)
		}
	}
	return nil
}

// cpuQuota is az.CFSQuota over cfsPeriod.
func cpuQuota(cpu float64) (quota, period int64) { return az.CFSQuota(cpu, cfsPeriod) }

// dirs lists the distinct directories of the instance.
func (g *instanceCgroup) dirs() []string {
	if g == nil {
		return nil
	}
	var out []string
	for _, d := range []string{g.cpu, g.acct, g.mem} {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// add moves pid into every directory.
func (g *instanceCgroup) add(pid int) error {
	var errs []error
	for _, d := range g.dirs() {
		errs = append(errs, os.WriteFile(filepath.Join(d, "cgroup.procs"), fmt.Append(nil, pid), 0))
	}
	return errors.Join(errs...)
}

// usage is the cgroup's total CPU time, if it keeps one.
func (g *instanceCgroup) usage() (time.Duration, bool) {
	if g == nil || g.acct == "" {
		return 0, false
	}
	if !g.v2 {
		b, err := os.ReadFile(filepath.Join(g.acct, "cpuacct.usage"))
		if err != nil {
			return 0, false
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(ns), err == nil
	}
	f, err := os.Open(filepath.Join(g.acct, "cpu.stat"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "usage_usec "); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err == nil
		}
	}
	return 0, false
}

// procs lists the pids left in the instance's cgroups.
func (g *instanceCgroup) procs() []int {
	return procsIn(g.dirs())
}

// remove deletes the instance's directories, killing what is left in them.
func (g *instanceCgroup) remove(ctx context.Context) error {
	var errs []error
	for _, d := range g.dirs() {
		errs = append(errs, removeCgroupDir(ctx, d))
	}
	return errors.Join(errs...)
}

// removeCgroupDir kills the processes left in dir and removes it, retrying
// for a while: the kernel lets go of a killed task a moment after it dies.
func removeCgroupDir(ctx context.Context, dir string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		for _, pid := range procsIn([]string{dir}) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeParents deletes the run's parent directories.
func (c *cgroups) removeParents() error {
	var errs []error
	for _, d := range []string{c.cpu, c.acct, c.mem} {
		if d == "" {
			continue
		}
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// procsIn lists the pids in the cgroups' cgroup.procs. It never lists pid
// 0 (a process in another pid namespace reads as 0, and kill(0) signals the
// caller's own process group) nor pid 1 (init).
func procsIn(dirs []string) []int {
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// v1Mount is where a v1 hierarchy is mounted and which of its directories
// the mount shows at that point.
type v1Mount struct{ point, root string }

// v1Mounts maps each v1 controller to its mount.
func v1Mounts() map[string]v1Mount {
	out := map[string]v1Mount{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(pf) < 5 || len(sf) < 3 || sf[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(sf[2], ",") {
			if opt == "cpu" || opt == "cpuacct" || opt == "memory" {
				out[opt] = v1Mount{point: pf[4], root: pf[3]}
			}
		}
	}
	return out
}

// ownCgroups maps each controller to this process's cgroup path in it; the
// v2 path is under the key "".
func ownCgroups() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

func fields(path string) map[string]bool {
	out := map[string]bool{}
	b, _ := os.ReadFile(path)
	for _, f := range strings.Fields(string(b)) {
		out[f] = true
	}
	return out
}

// CheckCgroups reports whether this machine lets the process runtime
// enforce CPU shares, by creating (and removing) a cgroup as a run would.
func CheckCgroups() (bool, string) {
	c := setupCgroups(fmt.Sprintf("doctor-%d", os.Getpid()))
	defer c.removeParents()
	return c.enforced()
}
