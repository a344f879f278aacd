package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/docker"
	"github.com/simplydone/lab/stack"
)

// runContainers lists the containers carrying run's label, by the docker
// CLI, as "name zone" lines.
func runContainers(t *testing.T, run string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+docker.LabelRun+"="+run,
		"--format", `{{.Names}} {{.Label "`+docker.LabelZone+`"}}`).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(strings.TrimSpace(string(out)))
}

// A zone on a Docker context's engine: its instances are that engine's
// containers carrying the run's labels, served through the load balancer,
// and gone when the run closes.
func TestRunWithAZoneOnADockerContext(t *testing.T) {
	if _, _, err := ResolveDriver(context.Background(), DriverDocker); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	dockerCLI, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH to make the context with")
	}
	ctx := context.Background()
	e, err := docker.Probe(ctx, "")
	if err != nil || !e.Local {
		t.Skipf("the engine is not on a local socket (%+v, %v)", e, err)
	}
	cfg := t.TempDir()
	if out, err := exec.Command(dockerCLI, "--config", cfg, "context", "create", "lab-zone-b", "--docker", "host="+e.Host).CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	t.Setenv("PATH", filepath.Dir(simplydone)+string(os.PathListSeparator)+os.Getenv("PATH"))
	st, err := stack.Parse("ctx.yaml", []byte(`name: ctx
zones:
  - {name: us-east-1a}
  - {name: us-east-1b, docker_context: lab-zone-b}
load_balancer:
  listener: {port: 18631}
target_group:
  port: 18632
launch_template:
  command: [simplydone]
  pending_time: 0s
auto_scaling_group: {min_size: 2, max_size: 2, desired_capacity: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(ctx, Options{Stack: st, Speed: 20, Seed: 1, RunsDir: t.TempDir(), StateDir: t.TempDir(), Driver: DriverDocker})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	zr, ok := l.Runtime.(*zonedRuntime)
	if !ok || !zr.engineOnly("us-east-1b") || zr.engineOnly("us-east-1a") {
		t.Fatalf("the run's runtime %T: want zone us-east-1b on the context's engine", l.Runtime)
	}
	var inB az.Instance
	waitFor(t, "an instance running in each zone", 60*time.Second, func() bool {
		list, err := l.Runtime.List(ctx)
		if err != nil {
			return false
		}
		zones := map[string]bool{}
		for _, in := range list {
			if in.State == az.StateRunning {
				zones[in.Zone] = true
				if in.Zone == "us-east-1b" {
					inB = in
				}
			}
		}
		return zones["us-east-1a"] && zones["us-east-1b"]
	})
	got := strings.Join(runContainers(t, l.RunID), " ")
	t.Logf("the run's containers: %s", got)
	want := docker.ContainerName(l.RunID, "") + string(inB.ID) + " us-east-1b"
	if !strings.Contains(got, want) {
		t.Errorf("containers of the run: %q, want %q among them", got, want)
	}
	url := fmt.Sprintf("http://%s:%d/", inB.Addr, inB.Port)
	waitFor(t, "zone b's instance answering at "+url, 30*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 500
	})
	if err := zr.OwnsListener(ctx, inB.ID, netip.AddrPortFrom(inB.Addr, uint16(inB.Port))); err != nil {
		t.Errorf("zone b's instance's listener, asked of its engine: %v", err)
	}
	if _, err := zr.Output(ctx, inB.ID, 5); err != nil {
		t.Errorf("zone b's instance's output, from its engine: %v", err)
	}
	if acct, here := zr.hostAccounting(); !here(inB.ID) || acct == nil {
		t.Errorf("zone b's instance, on an engine on this host, is left out of this host's CPU accounting")
	} else if a, err := acct.CPUAccount(ctx, inB.ID); err != nil || a.Share <= 0 {
		t.Errorf("zone b's instance's CPU account on this host: %+v, %v", a, err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := runContainers(t, l.RunID); len(left) > 0 {
		t.Errorf("containers of the run left after Close: %q", left)
	}
}

// TestEngineZonesPreflight: zones on Docker contexts are refused before
// anything starts without the docker driver, with --isolate, or when a
// context's engine does not answer (each said).
func TestEngineZonesPreflight(t *testing.T) {
	cfg := t.TempDir()
	dead := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	dockerCLI, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH to make the context with (stack's tests write the format by hand)")
	}
	if out, err := exec.Command(dockerCLI, "--config", cfg, "context", "create", "nobody", "--docker", "host="+dead).CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	st, err := stack.Parse("ctx.yaml", []byte("name: ctx\nzones: [{name: us-east-1a}, {name: us-east-1b, docker_context: nobody}]\n"+
		"target_group: {port: 18633}\nlaunch_template: {command: [simplydone]}\nauto_scaling_group: {min_size: 1, max_size: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		driver  string
		isolate bool
		want    string
	}{
		{DriverProcess, false, "ctx.yaml:2:8: zones: us-east-1b on nobody run on Docker contexts' engines, but the run's driver is process; run with --driver docker"},
		{DriverDocker, true, "but --isolate is not yet supported with them"},
		{DriverDocker, false, "but zone us-east-1b: docker context nobody: no engine answers at " + dead},
	} {
		err := preflightEngineZones(ctx, c.driver, &Options{Stack: st, Isolate: c.isolate})
		var pe *PreflightError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("driver %s isolate %v: %v; want a PreflightError saying %q", c.driver, c.isolate, err, c.want)
		}
	}
}
