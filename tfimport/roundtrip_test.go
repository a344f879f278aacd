package tfimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/export"
	"github.com/simplydone/lab/stack"
)

// labOnly copies the fields no Terraform or CloudFormation file holds (the
// exporter writes them as comments): the boot time, the later launch
// template versions, and where the stack came from.
func labOnly(dst, src *stack.Stack) {
	lt := func(d, s *stack.LaunchTemplate) {
		d.BootTime, d.Versions, d.RestartTime = s.BootTime, s.Versions, s.RestartTime
	}
	lt(&dst.LaunchTemplate, &src.LaunchTemplate)
	for i := range min(len(dst.Services), len(src.Services)) {
		lt(&dst.Services[i].LaunchTemplate, &src.Services[i].LaunchTemplate)
	}
	dst.File, dst.Source = src.File, src.Source
}

// sameStack fails the test with the first field that differs.
func sameStack(t *testing.T, got, want *stack.Stack) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) == string(w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("the imported stack differs at line %d of its JSON:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("the imported stack differs in length: %d lines, want %d", len(gl), len(wl))
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scheduleStart is time zero of the lab run on AWS, as the exporter's
// var.schedule_start takes it.
const scheduleStart = "2026-11-27T08:00:00Z"

// roundTripStacks are every built-in stack, the exporter's test stacks
// (warm pool, target tracking, hooks, weighted random, two zones, wide)
// and this package's (testdata/roundtrip: services with a sticky weighted
// forward), each also with the single-NAT option.
func roundTripStacks(t *testing.T) map[string]*stack.Stack {
	t.Helper()
	out := map[string]*stack.Stack{}
	for _, name := range stack.BuiltinNames() {
		s, err := stack.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	// the load balancer's attributes away from AWS's defaults
	strict, err := stack.Builtin("simplydone")
	if err != nil {
		t.Fatal(err)
	}
	strict.LoadBalancer.DesyncMitigationMode, strict.LoadBalancer.DropInvalidHeaderFields = "strictest", true
	out["simplydone-strictest"] = strict
	paths, _ := filepath.Glob(filepath.Join("..", "export", "testdata", "stacks", "*.yaml"))
	if len(paths) == 0 {
		t.Fatal("no stacks in ../export/testdata/stacks")
	}
	dbs, _ := filepath.Glob(filepath.Join("..", "export", "testdata", "database", "*.yaml"))
	if len(dbs) == 0 {
		t.Fatal("no stacks in ../export/testdata/database")
	}
	paths = append(paths, dbs...)
	// stacks with services this package's round trip adds (a sticky weighted forward: AWSALBTG)
	own, _ := filepath.Glob(filepath.Join("testdata", "roundtrip", "*.yaml"))
	if len(own) == 0 {
		t.Fatal("no stacks in testdata/roundtrip")
	}
	paths = append(paths, own...)
	for _, p := range paths {
		s, err := stack.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		out["export-"+strings.TrimSuffix(filepath.Base(p), ".yaml")] = s
	}
	return out
}

func TestRoundTripTerraform(t *testing.T) {
	for name, s := range roundTripStacks(t) {
		for _, o := range []export.Options{{}, {SingleNAT: true}} {
			t.Run(fmt.Sprintf("%s/single-nat=%v", name, o.SingleNAT), func(t *testing.T) {
				roundTripTerraform(t, s, o)
			})
		}
	}
}

func roundTripTerraform(t *testing.T, s *stack.Stack, eo export.Options) {
	files, err := export.Terraform(s, eo)
	if err != nil {
		// what the exporter refuses (a stack with services), as the
		// CloudFormation round trip: nothing to import
		var se *stack.Errors
		if !errors.As(err, &se) {
			t.Fatal(err)
		}
		t.Skipf("the exporter refuses it: %v", err)
	}
	var o Options
	if len(s.ScheduledActions) > 0 {
		o.Vars = []string{"schedule_start=" + scheduleStart}
	}
	if img := s.LaunchTemplate.Image; img != "" {
		// the image the instances pull: here, the one the lab ran
		o.Vars = append(o.Vars, "image="+img)
	}
	r, err := Terraform(writeFiles(t, files), o)
	if err != nil {
		t.Fatal(err)
	}
	exact(t, r)
	labOnly(r.Stack, s)
	sameStack(t, r.Stack, s)
}

func TestRoundTripCloudFormation(t *testing.T) {
	for name, s := range roundTripStacks(t) {
		for _, o := range []export.Options{{}, {SingleNAT: true}} {
			t.Run(fmt.Sprintf("%s/single-nat=%v", name, o.SingleNAT), func(t *testing.T) {
				data, err := export.CloudFormation(s, o)
				if err != nil {
					// what the template format cannot hold (scheduled actions, a
					// maintenance policy) the exporter refuses; nothing to import
					var se *stack.Errors
					if !errors.As(err, &se) {
						t.Fatal(err)
					}
					t.Skipf("the exporter refuses it: %v", err)
				}
				path := filepath.Join(t.TempDir(), "template.yaml")
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				var io Options
				if img := s.LaunchTemplate.Image; img != "" {
					io.Vars = []string{"ContainerImage=" + img}
				}
				r, err := CloudFormation(path, io)
				if err != nil {
					t.Fatal(err)
				}
				exact(t, r)
				labOnly(r.Stack, s)
				// AWS::AutoScaling::ScalingPolicy has no name: the import names
				// each policy by its logical id
				names := func(got, want []stack.ScalingPolicy) {
					for i := range min(len(got), len(want)) {
						got[i].Name = want[i].Name
					}
				}
				names(r.Stack.ScalingPolicies, s.ScalingPolicies)
				for i := range min(len(r.Stack.Services), len(s.Services)) {
					names(r.Stack.Services[i].ScalingPolicies, s.Services[i].ScalingPolicies)
				}
				sameStack(t, r.Stack, s)
			})
		}
	}
}

// exact fails on an inexact note: what the exporter writes maps back
// exactly, but for the lab run's time zero, which no AWS file holds.
func exact(t *testing.T, r *Result) {
	t.Helper()
	for _, n := range r.Notes {
		if n.Kind == Inexact && n.Subject != "scheduled actions" {
			t.Errorf("an inexact mapping of the exporter's own output: %s", n)
		}
	}
}
