package docker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// contextStore makes a Docker config directory with contexts by the real
// docker CLI (skipping when it is not on PATH: the format is tested in
// internal/dockerctx), and points DOCKER_CONFIG at it.
func contextStore(t *testing.T, contexts map[string]string) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH to make contexts with (internal/dockerctx tests the format without it)")
	}
	dir := t.TempDir()
	for name, host := range contexts {
		if out, err := exec.Command(docker, "--config", dir, "context", "create", name, "--docker", "host="+host).CombinedOutput(); err != nil {
			t.Fatalf("docker context create %s: %v\n%s", name, err, out)
		}
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// TestEngineByContext reaches the engine through a context naming its
// socket, says where a context's engine does not answer, and refuses an
// ssh endpoint with why.
func TestEngineByContext(t *testing.T) {
	needEngine(t)
	cli, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	host := cli.DaemonHost()
	cli.Close()
	dead := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	contextStore(t, map[string]string{"here": host, "nobody": dead, "far": "ssh://lab@zone-c.example"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Probe(ctx, "here")
	if err != nil || e.Host != host || e.Version == "" || e.API == "" || !e.Local == strings.HasPrefix(host, "unix://") {
		t.Fatalf("Probe(here) = %+v, %v", e, err)
	}
	if _, err := ReapContext(ctx, "here", t.TempDir(), nil); err != nil {
		t.Errorf("ReapContext(here): %v", err)
	}
	if e, err := Probe(ctx, "nobody"); err == nil || e.Host != dead || !strings.Contains(err.Error(), "no engine answers at "+dead) {
		t.Errorf("Probe(nobody) = %+v, %v", e, err)
	}
	if _, err := Probe(ctx, "far"); err == nil || !strings.Contains(err.Error(), "lab agent --docker-context") {
		t.Errorf("Probe(far): %v", err)
	}
	if _, err := Probe(ctx, "missing"); err == nil || !strings.Contains(err.Error(), "contexts there: default, far, here, nobody") {
		t.Errorf("Probe(missing): %v", err)
	}
}

// TestReapEnginesVisitsContextEngines: with DOCKER_HOST on a socket nobody
// serves, a dead run's container on the engine a context names is reaped
// all the same (lab down's reaper visits every local engine of the store),
// by a runtime launched through that context.
func TestReapEnginesVisitsContextEngines(t *testing.T) {
	needEngine(t)
	cli := mustClient(t)
	host := cli.DaemonHost()
	if !strings.HasPrefix(host, "unix://") {
		t.Skipf("the engine is not on a local socket: %s", host)
	}
	contextStore(t, map[string]string{"here": host})
	dead := newRuntime(t, func(o *Options) { o.Context = "here" })
	dead.owner[LabelOwnerPID] = strconv.Itoa(deadPID(t))
	dead.owner[LabelOwnerStart] = "1"
	d := spec(t, spinBin, "127.0.1.68", nil)
	launch(t, dead, d)
	saved, had := os.LookupEnv("DOCKER_HOST")
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	n, err := ReapEngines(bg, t.TempDir(), quiet())
	if had { // countRun asks the environment's engine
		os.Setenv("DOCKER_HOST", saved)
	} else {
		os.Unsetenv("DOCKER_HOST")
	}
	if err != nil {
		t.Fatal(err)
	}
	if left := countRun(t, dead.opts.RunID); n < 1 || left != 0 {
		t.Errorf("ReapEngines removed %d; the dead run still has %d container(s)", n, left)
	}
}
