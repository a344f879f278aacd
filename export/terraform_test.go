package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/simplydone/lab/internal/longtest"
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
// fmt -check on each export, offline, against the mirrored AWS provider.
// Every test stack is validated in parallel; --single-nat, which changes
// only the NAT gateways and their routes, on the built-in stack (every
// stack's under `make test-long`; the golden files hold every layout).
func TestTerraformValidate(t *testing.T) {
	env := terraformCLI(t)
	for _, ts := range testStacks(t) {
		t.Run(ts.name, func(t *testing.T) {
			if ts.opts.SingleNAT && ts.name != "builtin-single-nat" {
				longtest.Skip(t, "--single-nat validated on the built-in stack")
			}
			t.Parallel()
			files, err := Terraform(ts.s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := writeFiles(dir, files); err != nil {
				t.Fatal(err)
			}
			terraform(t, env, dir, "init", "-backend=false", "-input=false", "-no-color")
			out := terraform(t, env, dir, "validate", "-no-color")
			if !strings.Contains(out, "Success! The configuration is valid.") {
				t.Errorf("terraform validate:\n%s", out)
			}
			t.Logf("terraform validate: %s", strings.TrimSpace(out))
			terraform(t, env, dir, "fmt", "-check", "-diff", "-no-color")
		})
	}
}

func writeFiles(dir string, files map[string][]byte) error {
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
