package archtest

import (
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/simplydone/lab"

// floors are the project's floors, lowest first, as ARCHITECTURE.md draws
// them. A package may import a package on a lower floor; never one on its
// own floor or above (foundations excepted: they may import one another).
// A pattern ending in "/..." takes the folder and everything below it.
var floors = [][]string{
	// 0: foundations: no project imports (or only other foundations)
	{"clock", "internal/...", "todo/...", "load", "sim/az"},
	// 1: the models and the bus
	{"events", "stack"},
	// 2: the AWS parts and the fault engine; each defines what it needs
	{"sim/alb", "sim/asg", "sim/cloudwatch", "sim/entry", "sim/az/process", "sim/az/docker", "sim/az/aztest", "sim/rds", "sim/agent", "chaos", "rundir"},
	// 3: what is read and written around the parts
	{"scenarios", "promexport", "export", "tfimport"},
	// 4: the report, from a run directory
	{"report"},
	// 5: wiring: one lab from a stack and a scenario
	{"lab"},
	// 6: the views of a run
	{"tui"},
	// 7: programs
	{"cmd/...", "bench/..."},
}

// forbidden are imports the design rules out whatever the floors say.
var forbidden = []struct {
	from, to, except, why string
}{
	{"tui", "sim/...", "", "the TUI sees a run through lab's observation and handle, not the lab's insides"},
	{"sim/asg", "sim/alb", "", "the group defines the small interfaces it needs; lab wires the load balancer in"},
	{"sim/alb", "sim/asg", "", "the load balancer knows nothing of the group"},
	{"sim/alb", "sim/cloudwatch", "", "the load balancer publishes its metrics through a sink lab wires"},
	{"chaos", "sim/...", "", "chaos defines what it acts on; lab adapts the parts to it"},
	{"todo/...", "...", "todo/...", "SimplyDone is the demo workload; it imports nothing of the project but its own packages"},
	{"load", "...", "internal/...", "the load generator knows nothing of the lab (internal/ leaves excepted)"},
}

// debts are violations known today and owned by an open issue. The test
// logs them instead of failing, and fails once one is gone, so that the
// list only shrinks. Add nothing here.
var debts = map[string]string{}

// debtOf is the debt a violation is, if it is one.
func debtOf(v string) (string, bool) {
	for prefix := range debts {
		if strings.HasPrefix(v, prefix+":") {
			return prefix, true
		}
	}
	return "", false
}

// thirdParty are outside modules only one package may import.
var thirdParty = map[string]string{
	"github.com/docker/docker":        "sim/az/docker",
	"github.com/hashicorp/memberlist": "sim/entry",
}

func match(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// floorOf is the floor of pkg: the most specific pattern wins (sim/az/docker
// over sim/az).
func floorOf(pkg string) int {
	best, bestLen := -1, -1
	for i, fl := range floors {
		for _, p := range fl {
			if match(p, pkg) && len(p) > bestLen {
				best, bestLen = i, len(p)
			}
		}
	}
	return best
}

// imports are the project's packages (relative to the module) and the
// non-test imports of each, as the go command would build them.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "runs" || name == "results" || name == "bin") {
			return filepath.SkipDir
		}
		p, err := build.Default.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files, or only files for other build tags
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil // the module root holds only the tools file
		}
		out[rel] = p.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 20 {
		t.Fatalf("found only %d packages under %s; is the walk wrong?", len(out), root)
	}
	return out
}

// violations are every import in graph (package -> its imports, as the go
// command lists them) that breaks the floors, the forbidden pairs or the
// third-party owners.
func violations(graph map[string][]string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for pkg, imps := range graph {
		from := floorOf(pkg)
		if from < 0 {
			bad("%s is on no floor: add it to floors in internal/archtest and to ARCHITECTURE.md", pkg)
			continue
		}
		for _, imp := range imps {
			for prefix, only := range thirdParty {
				if (imp == prefix || strings.HasPrefix(imp, prefix+"/")) && !match(only, pkg) {
					bad("%s imports %s; only %s may", pkg, imp, only)
				}
			}
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if match(f.from, pkg) && match(f.to, dep) && (f.except == "" || !match(f.except, dep)) {
					bad("%s imports %s: %s", pkg, dep, f.why)
				}
			}
			to := floorOf(dep)
			switch {
			case to < from:
			case to == from && from == 0:
			case to == from:
				bad("%s imports %s on its own floor (%d): parts on one floor do not import one another", pkg, dep, from)
			default:
				bad("%s (floor %d) imports %s (floor %d): imports point down", pkg, from, dep, to)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestImportsPointDown checks the project as it is.
func TestImportsPointDown(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range violations(imports(t)) {
		if d, ok := debtOf(v); ok {
			seen[d] = true
			t.Logf("known debt (%s): %s", debts[d], v)
			continue
		}
		t.Error(v)
	}
	for d, owner := range debts {
		if !seen[d] {
			t.Errorf("%q is paid (%s): remove it from debts", d, owner)
		}
	}
}

// TestViolationsFound shows the check can fail: each row is a graph with
// one import the design rules out.
func TestViolationsFound(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	for _, tc := range []struct {
		name  string
		graph map[string][]string
		want  string
	}{
		{"tui into sim", map[string][]string{"tui": {m("lab"), m("sim/alb")}}, "tui imports sim/alb"},
		{"group into load balancer", map[string][]string{"sim/asg": {m("sim/alb")}}, "sim/asg imports sim/alb"},
		{"upward", map[string][]string{"sim/cloudwatch": {m("lab")}}, "sim/cloudwatch (floor 2) imports lab (floor 5)"},
		{"sideways", map[string][]string{"sim/entry": {m("sim/cloudwatch")}}, "on its own floor"},
		{"todo imports the project", map[string][]string{"todo": {m("clock")}}, "todo imports clock"},
		{"docker outside its runtime", map[string][]string{"lab": {"github.com/docker/docker/client"}}, "only sim/az/docker may"},
		{"unplaced package", map[string][]string{"sim/elasticache": nil}, "sim/elasticache is on no floor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(tc.graph)
			if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tc.want) }) {
				t.Errorf("violations = %q, want one containing %q", got, tc.want)
			}
		})
	}
	ok := map[string][]string{"lab": {m("sim/alb"), m("report"), "github.com/hashicorp/hcl/v2"}, "sim/asg": {m("sim/az"), m("events")}}
	if got := violations(ok); len(got) != 0 {
		t.Errorf("a graph that keeps the rules: violations = %q, want none", got)
	}
}

// TestFloorsNameRealPackages keeps the table honest: every pattern names a
// package that exists.
func TestFloorsNameRealPackages(t *testing.T) {
	pkgs := imports(t)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, fl := range floors {
		for _, p := range fl {
			if !slices.ContainsFunc(names, func(n string) bool { return match(p, n) }) {
				t.Errorf("floor pattern %q matches no package (have %v)", p, names)
			}
		}
	}
	if _, err := os.Stat("../../ARCHITECTURE.md"); err != nil {
		t.Errorf("ARCHITECTURE.md is missing: %v", err)
	}
}
