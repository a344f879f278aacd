package docker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
)

func TestContainerSettings(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, simplydoneBin, "127.0.1.60", map[string]string{"EXTRA": "yes", "LAB_ADDR": "ignored"})
	in := launch(t, r, s)
	if in.PID != 0 || in.RunID != r.opts.RunID || in.Zone != s.Zone.Name || in.Type != "t3.micro" || in.Started.IsZero() {
		t.Errorf("launched instance = %+v", in)
	}
	waitServing(t, s)

	c, err := r.cli.ContainerInspect(bg, ContainerName(r.opts.RunID, s.ID))
	if err != nil {
		t.Fatal(err)
	}
	h := c.HostConfig
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("network mode", string(h.NetworkMode), "host")
	check("user", c.Config.User, "65534:65534")
	check("read-only root", h.ReadonlyRootfs, true)
	check("cap drop", strings.Join(h.CapDrop, ","), "ALL")
	check("security opt", strings.Join(h.SecurityOpt, ","), "no-new-privileges")
	check("cpu quota", h.CPUQuota, int64(25_000))
	check("cpu period", h.CPUPeriod, int64(100_000))
	check("memory", h.Memory, int64(128<<20))
	check("memory+swap", h.MemorySwap, int64(128<<20))
	if h.PidsLimit == nil || *h.PidsLimit != 256 {
		t.Errorf("pids limit = %v, want 256", h.PidsLimit)
	}
	check("privileged", h.Privileged, false)
	check("name", c.Name, "/"+ContainerName(r.opts.RunID, s.ID))
	for k, v := range map[string]string{
		LabelRun: r.opts.RunID, LabelZone: "us-east-1a", LabelInstance: string(s.ID),
		LabelOwnerPID: strconv.Itoa(os.Getpid()), LabelOwnerStart: r.owner[LabelOwnerStart],
	} {
		check("label "+k, c.Config.Labels[k], v)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Source != s.DataDir || c.Mounts[0].Destination != DataMount || !c.Mounts[0].RW {
		t.Errorf("mounts = %+v, want %s read-write at %s", c.Mounts, s.DataDir, DataMount)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(s.DataDir, &st); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && (st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o777 != 0o700) {
		t.Errorf("data dir: owner %d:%d mode %o; want nobody's (65534:65534), 0700, not open to all", st.Uid, st.Gid, st.Mode&0o777)
	}
	env := map[string]string{}
	for _, kv := range c.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range map[string]string{
		"LAB_RUN_ID": r.opts.RunID, "LAB_INSTANCE_ID": string(s.ID), "LAB_ZONE": "us-east-1a",
		"LAB_ADDR": "127.0.1.60", "LAB_PORT": strconv.Itoa(s.Port), "LAB_DATA_DIR": "/data", "EXTRA": "yes",
	} {
		check("env "+k, env[k], v)
	}
	if strings.Count(strings.Join(c.Config.Env, "\n"), "LAB_ADDR=") != 1 {
		t.Errorf("LAB_ADDR set more than once: %v", c.Config.Env)
	}

	// The app, running as nobody, writes the shared database in /data.
	resp, err := http.Post("http://"+netip.AddrPortFrom(s.Addr, uint16(s.Port)).String()+"/api/todos", "application/json", strings.NewReader(`{"title":"buy milk"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("POST /api/todos = %d, want 201", resp.StatusCode)
	}
	if ok, why := r.Enforced(); !ok || !strings.Contains(why, "CFS quota") {
		t.Errorf("Enforced() = %v, %q", ok, why)
	}
}

// logBuffer is a logger whose output a test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestImageTaggedByContentAndBuiltOnce(t *testing.T) {
	needEngine(t)
	data, err := os.ReadFile(spinBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := "lab/spin:" + hex.EncodeToString(sum[:])[:12]

	var logs logBuffer
	r := newRuntime(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	s := spec(t, spinBin, "127.0.1.61", nil)
	if err := r.EnsureImage(bg, s); err != nil {
		t.Fatal(err)
	}
	img, err := r.cli.ImageInspect(bg, want)
	if err != nil {
		t.Fatalf("image %s: %v", want, err)
	}
	if img.Config == nil || img.Config.User != "65534:65534" || !slices.Equal(img.Config.Entrypoint, []string{"/app"}) {
		t.Errorf("image config = %+v", img.Config)
	}
	if len(img.RootFS.Layers) != 1 {
		t.Errorf("image has %d layers, want 1 (FROM scratch, one COPY)", len(img.RootFS.Layers))
	}

	// A second runtime (no cache) finds the image and builds nothing; so
	// do launches.
	var logs2 logBuffer
	r2 := newRuntime(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs2, nil)) })
	for range 2 {
		if err := r2.EnsureImage(bg, s); err != nil {
			t.Fatal(err)
		}
	}
	launch(t, r2, s)
	if strings.Contains(logs2.String(), "built image") {
		t.Errorf("image rebuilt though the binary did not change:\n%s", logs2.String())
	}
	again, err := r.cli.ImageInspect(bg, want)
	if err != nil || again.ID != img.ID {
		t.Errorf("image id changed: %s -> %s (%v)", img.ID, again.ID, err)
	}
	t.Logf("image %s (%s), first runtime's log:\n%s", want, img.ID[:19], logs.String())
}

func TestMissingUserImageIsAClearError(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, "", "127.0.1.62", nil)
	s.Command, s.Image = nil, "lab/no-such-image:nope"
	err := r.EnsureImage(bg, s)
	if err == nil || !strings.Contains(err.Error(), `"lab/no-such-image:nope"`) || !strings.Contains(err.Error(), "not in the Docker engine") {
		t.Fatalf("EnsureImage = %v, want a clear missing-image error", err)
	}
	if _, err := r.Launch(bg, s); err == nil || !strings.Contains(err.Error(), "not in the Docker engine") {
		t.Fatalf("Launch = %v, want the missing-image error", err)
	}
	if list, _ := r.List(bg); len(list) != 0 {
		t.Errorf("failed launch left %+v", list)
	}
	if n := countRun(t, r.opts.RunID); n != 0 {
		t.Errorf("failed launch left %d containers", n)
	}
}

func TestUserImageRunsAsIs(t *testing.T) {
	r := newRuntime(t)
	built := spec(t, spinBin, "127.0.1.63", nil)
	ref, err := r.ensureImage(bg, built)
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, "", "127.0.1.63", nil)
	s.Command, s.Image = nil, ref.tag
	launch(t, r, s)
	waitServing(t, s)
	c, err := r.cli.ContainerInspect(bg, ContainerName(r.opts.RunID, s.ID))
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.Image != ref.tag || slices.ContainsFunc(c.Config.Env, func(kv string) bool { return strings.HasPrefix(kv, "LAB_IMAGE=") }) {
		t.Errorf("image %q, env %v", c.Config.Image, c.Config.Env)
	}
}

func TestLaunchRejectsBadSpecs(t *testing.T) {
	r := newRuntime(t)
	good := spec(t, spinBin, "127.0.1.64", nil)
	for name, mutate := range map[string]func(*az.Spec){
		"no id":          func(s *az.Spec) { s.ID = "" },
		"no command":     func(s *az.Spec) { s.Command = nil },
		"not loopback":   func(s *az.Spec) { s.Addr = netip.MustParseAddr("192.0.2.1") },
		"bad port":       func(s *az.Spec) { s.Port = 0 },
		"other run":      func(s *az.Spec) { s.RunID = "someone-else" },
		"no program":     func(s *az.Spec) { s.Command = []string{"lab-no-such-program"} },
		"relative data":  func(s *az.Spec) { s.DataDir = "data" },
		"dynamic binary": func(s *az.Spec) { s.Command = []string{"/bin/true"} },
	} {
		s := good
		mutate(&s)
		_, err := r.Launch(bg, s)
		if err == nil {
			t.Errorf("%s: launch succeeded", name)
			continue
		}
		if name == "dynamic binary" && !strings.Contains(err.Error(), "CGO_ENABLED=0") {
			t.Errorf("dynamic binary: %v; want advice to build it static", err)
		}
	}
	if list, _ := r.List(bg); len(list) != 0 {
		t.Errorf("failed launches left %d instances", len(list))
	}
	if n := countRun(t, r.opts.RunID); n != 0 {
		t.Errorf("failed launches left %d containers", n)
	}
}

func TestCrashShowsOnExited(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, spinBin, "127.0.1.65", map[string]string{"CRASH": "1"})
	launch(t, r, s)
	select {
	case id := <-r.Exited():
		if id != s.ID {
			t.Fatalf("Exited reported %s, want %s", id, s.ID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("crash not reported on Exited within 15s")
	}
	if st := aztest.StateOf(t, r, s.ID); st != az.StateStopped {
		t.Errorf("state after crash = %s, want stopped", st)
	}
	if err := r.Terminate(bg, s.ID); err != nil {
		t.Errorf("Terminate after crash: %v", err)
	}
}

func TestCPUShareIsEnforcedAndMeasured(t *testing.T) {
	for _, src := range []struct {
		name string
		src  StatsSource
	}{{"auto", StatsAuto}, {"api", StatsAPI}} {
		t.Run(src.name, func(t *testing.T) {
			r := newRuntime(t, func(o *Options) { o.Stats = src.src })
			s := spec(t, spinBin, "127.0.1.67", map[string]string{"SPIN": "1"})
			s.Type.CPU = 0.25
			launch(t, r, s)
			waitServing(t, s)
			cid := r.entry(s.ID).cid
			if src.src == StatsAuto {
				t.Logf("auto reads the cgroup: %v", r.useCgroup(cid))
			}
			if _, err := r.Stats(bg, s.ID); err != nil { // start a fresh window
				t.Fatal(err)
			}
			measure(2 * time.Second)
			st, err := r.Stats(bg, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("CPUUtilization %.1f%% of a 0.25 share; memory %d bytes", st.CPUUtilization, st.MemoryBytes)
			if st.CPUUtilization < 60 || st.CPUUtilization > 130 {
				t.Errorf("CPUUtilization = %.1f%%, want about 100%% of the share", st.CPUUtilization)
			}
			if st.MemoryBytes == 0 {
				t.Error("MemoryBytes = 0")
			}
		})
	}
}

func TestIdleInstanceReadsLowCPU(t *testing.T) {
	r := newRuntime(t)
	s := spec(t, spinBin, "127.0.1.68", nil)
	launch(t, r, s)
	waitServing(t, s)
	if _, err := r.Stats(bg, s.ID); err != nil {
		t.Fatal(err)
	}
	measure(500 * time.Millisecond)
	st, err := r.Stats(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUUtilization > 40 {
		t.Errorf("idle instance CPUUtilization = %.1f%%", st.CPUUtilization)
	}
}
