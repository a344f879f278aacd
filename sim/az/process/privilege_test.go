package process

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// status returns the lines of /proc/PID/status by their name.
func status(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			out[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return out
}

// checkNobody asserts pid runs as nobody with no groups and no capabilities.
func checkNobody(t *testing.T, what string, pid int) {
	t.Helper()
	st := status(t, pid)
	want := map[string]string{"Uid": "65534 65534 65534 65534", "Gid": "65534 65534 65534 65534", "Groups": "",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000", "CapAmb": "0000000000000000"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s (pid %d): %s = %q, want %q", what, pid, k, st[k], v)
		}
	}
}

// As root, instances and CPU hogs run as nobody (65534) with no
// capabilities, and the data directory is nobody's, mode 0700, even when
// the run's directory is somewhere nobody cannot reach (a 0700 temporary
// directory, as here); the lab reads it back by the run's path, and after
// the run the directory is back in place.
func TestInstancesRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the lab drops privileges only when it runs as root")
	}
	r := newRuntime(t)
	s := spec(t, "127.0.1.10", nil)
	runDir := t.TempDir()
	if err := os.Chmod(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.DataDir = filepath.Join(runDir, "data")
	if err := os.Mkdir(s.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := launch(t, r, s)
	waitServing(t, s)
	checkNobody(t, "instance", in.PID)

	real, err := filepath.EvalSymlinks(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(real, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != Nobody || st.Gid != Nobody || st.Mode&0o777 != 0o700 {
		t.Errorf("data dir %s: owner %d:%d mode %o, want 65534:65534 0700", real, st.Uid, st.Gid, st.Mode&0o777)
	}
	if !searchable(filepath.Dir(real), Nobody, Nobody) {
		t.Errorf("nobody cannot reach the data dir %s", real)
	}

	// An instance that writes to the data directory, as SimplyDone's store does.
	w := spec(t, "127.0.1.11", nil)
	w.DataDir = s.DataDir
	w.Command = []string{"/bin/sh", "-c", `id -u > "$LAB_DATA_DIR/written"; exec sleep 60`}
	win := launch(t, r, w)
	checkNobody(t, "writer", win.PID)
	var written []byte
	deadline := time.Now().Add(10 * time.Second)
	for len(written) == 0 && time.Now().Before(deadline) {
		written, _ = os.ReadFile(filepath.Join(s.DataDir, "written")) // the lab reads by the run's path
		time.Sleep(20 * time.Millisecond)
	}
	if strings.TrimSpace(string(written)) != "65534" {
		t.Fatalf("the instance wrote %q to the data dir, want its uid 65534", written)
	}

	stop, err := r.Hog(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	hogs := hogPIDs(t, r.opts.RunID)
	if len(hogs) == 0 {
		t.Fatal("no hog process found")
	}
	for _, pid := range hogs {
		checkNobody(t, "hog", pid)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(s.DataDir)
	if err != nil || !fi.IsDir() {
		t.Fatalf("after the run the data dir is %v, %v; want a directory back in place", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(s.DataDir, "written")); err != nil || strings.TrimSpace(string(b)) != "65534" {
		t.Errorf("after the run the data dir holds %q, %v", b, err)
	}
}

// hogPIDs lists the processes that carry the run's hog label.
func hogPIDs(t *testing.T, runID string) []int {
	t.Helper()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains(string(env), "LAB_RUN_ID="+runID+"\x00") || !strings.Contains(string(env), "_HOG=") {
			continue
		}
		if pid := atoiOr(e.Name()); pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

func atoiOr(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// As root, an instance whose program nobody can reach by its path runs it
// by that path: a script sees its own path as $0 (scripts find their files
// by it), its name is the program's, and no descriptor beyond stdin,
// stdout and stderr is left open in it.
func TestAProgramNobodyCanReachRunsByItsPath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the lab drops privileges only when it runs as root")
	}
	dir, err := os.MkdirTemp("/tmp", "fix19-prog-") // 0700 by default: opened up below
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "serve.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$0\" > \"$LAB_DATA_DIR/zero\"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t)
	s := spec(t, "127.0.1.12", nil)
	s.Command = []string{script}
	if err := os.Chmod(s.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := launch(t, r, s)
	var zero []byte
	eventually(t, 10*time.Second, "the script's $0 written", func() bool {
		zero, _ = os.ReadFile(filepath.Join(s.DataDir, "zero"))
		return len(zero) > 0
	})
	if got := strings.TrimSpace(string(zero)); got != script {
		t.Errorf("the script saw $0 = %q, want %q", got, script)
	}
	// Until the script execs sleep, the shell holds the script open on a
	// descriptor of its own (dash: 10, close-on-exec); the descriptors are
	// checked once the instance is the program the script runs.
	eventually(t, 10*time.Second, "the script exec'd sleep", func() bool {
		comm, _ := os.ReadFile("/proc/" + itoa(in.PID) + "/comm")
		return strings.TrimSpace(string(comm)) == "sleep"
	})
	fds, err := os.ReadDir("/proc/" + itoa(in.PID) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range fds {
		names = append(names, fd.Name())
	}
	if strings.Join(names, " ") != "0 1 2" {
		t.Errorf("the instance has descriptors %v open, want only 0 1 2", names)
	}
	checkNobody(t, "instance", in.PID)
}

// When the lab is not root, instances run as its own user and the data
// directory is owner-only: 0700, not the 0755 it was made with.
func TestDataDirIsOwnerOnlyWhenNotRoot(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var d dataDirs
	got, err := d.prepare(dir)
	if err != nil || got != dir {
		t.Fatalf("prepare = %q, %v; want %q", got, err, dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %o, want 0700", fi.Mode().Perm())
	}
}
