package export

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/simplydone/lab/internal/longtest"
	"github.com/simplydone/lab/stack"
)

// parseModule parses every .tf file of an export with hashicorp/hcl.
func parseModule(t *testing.T, files map[string][]byte) map[string]*hclsyntax.Body {
	t.Helper()
	bodies := map[string]*hclsyntax.Body{}
	for name, src := range files {
		if !strings.HasSuffix(name, ".tf") {
			continue
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s does not parse: %s", name, diags.Error())
		}
		bodies[name] = f.Body.(*hclsyntax.Body)
	}
	return bodies
}

// checkRefs reports every reference in the module that names nothing the
// module declares: resources, data sources, variables, locals.
func checkRefs(bodies map[string]*hclsyntax.Body) []string {
	declared := map[string]bool{}
	for _, body := range bodies {
		for _, b := range body.Blocks {
			switch b.Type {
			case "resource":
				declared[b.Labels[0]+"."+b.Labels[1]] = true
			case "data":
				declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
			case "variable":
				declared["var."+b.Labels[0]] = true
			case "locals":
				for name := range b.Body.Attributes {
					declared["local."+name] = true
				}
			}
		}
	}
	builtins := map[string]bool{"each": true, "count": true, "path": true, "self": true, "terraform": true}
	var problems []string
	var walk func(file, blockType string, body *hclsyntax.Body)
	walk = func(file, blockType string, body *hclsyntax.Body) {
		for _, a := range body.Attributes {
			// Type constraints and lifecycle arguments name no objects.
			if blockType == "lifecycle" || blockType == "variable" && a.Name == "type" {
				continue
			}
			for _, tr := range a.Expr.Variables() {
				root := tr.RootName()
				if builtins[root] {
					continue
				}
				parts := []string{root}
				want := 2
				if root == "data" {
					want = 3
				}
				for _, step := range tr[1:] {
					if attr, ok := step.(hcl.TraverseAttr); ok && len(parts) < want {
						parts = append(parts, attr.Name)
					}
				}
				if name := strings.Join(parts, "."); !declared[name] {
					problems = append(problems, file+": "+a.Name+" refers to "+name+", which the module does not declare")
				}
			}
		}
		for _, b := range body.Blocks {
			walk(file, b.Type, b.Body)
		}
	}
	for file, body := range bodies {
		walk(file, "", body)
	}
	sort.Strings(problems)
	return problems
}

func TestTerraformParsesAndResolves(t *testing.T) {
	for _, ts := range testStacks(t) {
		t.Run(ts.name, func(t *testing.T) {
			files, err := Terraform(ts.s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkRefs(parseModule(t, files)) {
				t.Error(p)
			}
		})
	}
	// The checker catches a dangling reference.
	bad := map[string][]byte{"x.tf": []byte("resource \"a\" \"b\" {\n  x = aws_vpc.nope.id\n  y = var.missing\n}\n")}
	if got := checkRefs(parseModule(t, bad)); len(got) != 2 {
		t.Errorf("checker found %v; want the two dangling references", got)
	}
}

// terraformCLI returns the environment to run terraform offline with the
// provider mirror, or skips the test when terraform or the mirror is absent.
func terraformCLI(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform is not installed; skipping terraform validate")
	}
	const mirror = "/opt/tf-plugins"
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io/hashicorp/aws")); err != nil {
		t.Skipf("no AWS provider in the filesystem mirror %s; skipping terraform validate", mirror)
	}
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	rc := `provider_installation {
  filesystem_mirror {
    path    = "` + mirror + `"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`
	if err := os.WriteFile(cfg, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}

func terraform(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("terraform", args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestTerraformValidate runs terraform init -backend=false, validate and
// fmt -check, offline, against the mirrored AWS provider, on every export
// the package's tests build: each test stack, both database layouts (with AWS/RDS alarms), the
// services stack, a weighted forward with group stickiness and the group
// extras. Each export is a child module of one
// root, so the provider starts once (a validate costs about six seconds,
// nearly all of it the provider's schema); an error names its module.
// --single-nat, which changes only the NAT gateways and their routes, on the
// built-in stack (every stack's under `make test-long`; the golden files hold
// every layout).
func TestTerraformValidate(t *testing.T) {
	env := terraformCLI(t)
	mods := map[string]map[string][]byte{}
	add := func(name string, s *stack.Stack, opts Options) {
		files, err := Terraform(s, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mods[name] = files
	}
	for _, ts := range testStacks(t) {
		if ts.opts.SingleNAT && ts.name != "builtin-single-nat" && !longtest.Enabled() {
			continue
		}
		add(ts.name, ts.s, ts.opts)
	}
	for _, p := range databaseStacks {
		add("database-"+strings.TrimSuffix(filepath.Base(p), ".yaml"), loadDB(t, p), Options{})
	}
	services, err := stack.Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	add("services", services, Options{})
	sticky, err := stack.Load(filepath.Join("..", "tfimport", "testdata", "roundtrip", "weighted-group-sticky.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	add("weighted-group-sticky", sticky, Options{})
	add("group-extras", extras(t, ""), Options{})

	root := t.TempDir()
	main, err := rootModule(root, mods)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "main.tf"), main, 0o644); err != nil {
		t.Fatal(err)
	}
	terraform(t, env, root, "init", "-backend=false", "-input=false", "-no-color")
	out := terraform(t, env, root, "validate", "-no-color")
	if !strings.Contains(out, "Success! The configuration is valid.") {
		t.Errorf("terraform validate:\n%s", out)
	}
	t.Logf("terraform validate of %d modules: %s", len(mods), strings.TrimSpace(out))
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	terraform(t, env, root, append([]string{"fmt", "-check", "-diff", "-no-color"}, names...)...)
}

// rootModule writes each module into its own directory under root and
// returns a root module that calls them all, passing each variable a module
// requires (one without a default) from a root variable of the same name,
// which validate leaves unknown.
func rootModule(root string, mods map[string]map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	required := map[string]bool{}
	var calls strings.Builder
	for _, n := range names {
		dir := filepath.Join(root, n)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		if err := writeFiles(dir, mods[n]); err != nil {
			return nil, err
		}
		vars, err := requiredVariables(mods[n])
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", n, err)
		}
		fmt.Fprintf(&calls, "module %q {\n  source = \"./%s\"\n", strings.ReplaceAll(n, "-", "_"), n)
		for _, v := range vars {
			required[v] = true
			fmt.Fprintf(&calls, "  %s = var.%s\n", v, v)
		}
		calls.WriteString("}\n")
	}
	var b strings.Builder
	vars := make([]string, 0, len(required))
	for v := range required {
		vars = append(vars, v)
	}
	sort.Strings(vars)
	for _, v := range vars {
		fmt.Fprintf(&b, "variable %q {}\n", v)
	}
	b.WriteString(calls.String())
	return []byte(b.String()), nil
}

// requiredVariables names a module's variables that have no default.
func requiredVariables(files map[string][]byte) ([]string, error) {
	var vars []string
	for name, src := range files {
		if !strings.HasSuffix(name, ".tf") {
			continue
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s does not parse: %s", name, diags.Error())
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if _, ok := b.Body.Attributes["default"]; b.Type == "variable" && !ok {
				vars = append(vars, b.Labels[0])
			}
		}
	}
	sort.Strings(vars)
	return vars, nil
}

func writeFiles(dir string, files map[string][]byte) error {
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
