package tfimport

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestFunctionsAsTerraform checks the functions written here against the
// examples of Terraform's documentation.
func TestFunctionsAsTerraform(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.tftpl"), []byte("run ${image} on %{ for p in ports }${p} %{ endfor }"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := &hcl.EvalContext{Functions: functions(dir)}
	for expr, want := range map[string]string{
		`cidrsubnet("10.0.0.0/16", 8, 2)`:                             `10.0.2.0/24`,
		`cidrsubnet("10.1.2.0/24", 4, 15)`:                            `10.1.2.240/28`,
		`cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)`:             `fd00:fd12:3456:7800:a200::/72`,
		`cidrhost("10.12.112.0/20", 16)`:                              `10.12.112.16`,
		`cidrhost("10.12.112.0/20", 268)`:                             `10.12.113.12`,
		`cidrnetmask("172.16.0.0/12")`:                                `255.240.0.0`,
		`join(",", cidrsubnets("10.1.0.0/16", 4, 4, 8, 4))`:           `10.1.0.0/20,10.1.16.0/20,10.1.32.0/24,10.1.48.0/20`,
		`tostring(length("hello"))`:                                   `5`,
		`tostring(length(["a", "b"]))`:                                `2`,
		`tostring(index(["a", "b", "c"], "b"))`:                       `1`,
		`one(["x"])`:                                                  `x`,
		`lookup({a = "1"}, "b", "none")`:                              `none`,
		`element(["a", "b", "c"], 4)`:                                 `b`,
		`format("%s-%03d", "web", 7)`:                                 `web-007`,
		`base64decode(base64encode("user data"))`:                     `user data`,
		`templatefile("t.tftpl", {image = "x:1", ports = [80, 443]})`: `run x:1 on 80 443 `,
		`join(",", concat(["a"], ["b"]))`:                             `a,b`,
		`tostring(merge({a = 1}, {b = 2}).b)`:                         `2`,
		`tostring(try(tonumber("x"), 3))`:                             `3`,
		`tostring(can(cidrnetmask("nope")))`:                          `false`,
	} {
		e, diags := hclsyntax.ParseExpression([]byte(expr), "t", hcl.Pos{Line: 1, Column: 1})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", expr, diags.Error())
		}
		v, diags := e.Value(ctx)
		if diags.HasErrors() {
			t.Errorf("%s: %s", expr, diags.Error())
			continue
		}
		if v.AsString() != want {
			t.Errorf("%s = %q, want %q", expr, v.AsString(), want)
		}
	}
}
