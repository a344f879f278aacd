package process

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// As root, with the shim set (as the lab's binary sets it), an instance
// and a CPU hog run as nobody with an empty capability bounding set and
// no_new_privs, so that a setuid or file-capability program gives nothing
// back; no capability in any other set, and no descriptor but 0, 1 and 2.
// The instance's program is in a directory nobody cannot search (the
// shim opens it as root and executes it through a descriptor closed at
// exec); a script that nobody can reach keeps its own path as $0.
func TestShimDropsEveryPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the lab drops privileges only when it runs as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	UseShim([]string{exe, ShimArg})
	t.Cleanup(func() { UseShim(nil) })

	r := newRuntime(t)
	s := spec(t, "127.0.1.13", nil) // spin, in a 0700 directory
	in := launch(t, r, s)
	waitServing(t, s)
	dropped := func(what string, pid int, ownFDs bool) {
		t.Helper()
		checkNobody(t, what, pid)
		st := status(t, pid)
		if st["CapBnd"] != "0000000000000000" || st["NoNewPrivs"] != "1" {
			t.Errorf("%s (pid %d): CapBnd %s, NoNewPrivs %s; want 0000000000000000 and 1", what, pid, st["CapBnd"], st["NoNewPrivs"])
		}
		fds, err := os.ReadDir("/proc/" + itoa(pid) + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, fd := range fds {
			names = append(names, fd.Name())
			if to, _ := os.Readlink("/proc/" + itoa(pid) + "/fd/" + fd.Name()); to == spinBin {
				t.Errorf("%s (pid %d): descriptor %s of its own program left open", what, pid, fd.Name())
			}
		}
		if !ownFDs && strings.Join(names, " ") != "0 1 2" {
			t.Errorf("%s (pid %d) has descriptors %v open, want only 0 1 2", what, pid, names)
		}
	}
	dropped("instance", in.PID, true) // a Go server: descriptors of its own
	if b, _ := os.ReadFile("/proc/" + itoa(in.PID) + "/cmdline"); !strings.HasPrefix(string(b), spinBin+"\x00") {
		t.Errorf("instance's command line %q, want it to start with %s", b, spinBin)
	}

	dir, err := os.MkdirTemp("/tmp", "lab-shim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	script := filepath.Join(dir, "serve.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$0\" > \"$LAB_DATA_DIR/zero\"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := spec(t, "127.0.1.14", nil)
	w.Command = []string{script}
	if err := os.Chmod(w.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	win := launch(t, r, w)
	var zero []byte
	eventually(t, 10*time.Second, "the script's $0 written", func() bool {
		zero, _ = os.ReadFile(filepath.Join(w.DataDir, "zero"))
		return len(zero) > 0
	})
	if got := strings.TrimSpace(string(zero)); got != script {
		t.Errorf("the script saw $0 = %q, want %q", got, script)
	}
	// The shell holds the script itself open (dash at descriptor 10 and
	// up) until it execs sleep: wait for the exec, and for the kernel to
	// close the close-on-exec descriptors, before counting them.
	eventually(t, 10*time.Second, "the script exec'ing sleep", func() bool {
		b, _ := os.ReadFile("/proc/" + itoa(win.PID) + "/cmdline")
		fds, _ := os.ReadDir("/proc/" + itoa(win.PID) + "/fd")
		return strings.HasPrefix(string(b), "sleep\x00") && len(fds) == 3
	})
	dropped("script", win.PID, false)

	stop, err := r.Hog(bg, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var hogs []int
	eventually(t, 5*time.Second, "the hog running its loop", func() bool {
		hogs = hogPIDs(t, r.opts.RunID)
		if len(hogs) == 0 {
			return false
		}
		b, _ := os.ReadFile("/proc/" + itoa(hogs[0]) + "/cmdline")
		// The command line changes at exec a moment before the kernel
		// closes the close-on-exec descriptors: wait for both.
		fds, _ := os.ReadDir("/proc/" + itoa(hogs[0]) + "/fd")
		return strings.HasPrefix(string(b), "/bin/sh\x00") && len(fds) == 3
	})
	dropped("hog", hogs[0], false)
}
