package tfimport

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVariablePrecedence: default < TF_VAR_ < terraform.tfvars <
// *.auto.tfvars < -var-file < -var, as Terraform takes them.
func TestVariablePrecedence(t *testing.T) {
	main := strings.Replace(tier, "max_size          = 2", "max_size = var.max", 1) + `
variable "max" {
  type    = number
  default = 2
}
`
	for _, c := range []struct {
		name  string
		files map[string]string
		env   string
		o     func(dir string) Options
		want  int
	}{
		{"default", nil, "", nil, 2},
		{"TF_VAR_", nil, "3", nil, 3},
		{"terraform.tfvars over TF_VAR_", map[string]string{"terraform.tfvars": "max = 4\n"}, "3", nil, 4},
		{"*.auto.tfvars over terraform.tfvars", map[string]string{"terraform.tfvars": "max = 4\n", "b.auto.tfvars": "max = 5\n"}, "", nil, 5},
		{"-var-file over *.auto.tfvars", map[string]string{"b.auto.tfvars": "max = 5\n", "prod.tfvars": "max = 6\n"}, "",
			func(dir string) Options { return Options{VarFiles: []string{filepath.Join(dir, "prod.tfvars")}} }, 6},
		{"-var last", map[string]string{"prod.tfvars": "max = 6\n"}, "",
			func(dir string) Options {
				return Options{VarFiles: []string{filepath.Join(dir, "prod.tfvars")}, Vars: []string{"max=7"}}
			}, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"main.tf": main}
			for k, v := range c.files {
				files[k] = v
			}
			dir := dirWith(t, files)
			if c.env != "" {
				t.Setenv("TF_VAR_max", c.env)
			}
			var o Options
			if c.o != nil {
				o = c.o(dir)
			}
			r, err := Terraform(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			want(t, "max_size", r.Stack.AutoScalingGroup.MaxSize, c.want)
		})
	}
}

func TestAVariableOfTheWrongTypeIsAnError(t *testing.T) {
	main := tier + "variable \"max\" {\n  type = number\n}\n"
	_, err := Terraform(dirWith(t, map[string]string{"main.tf": main}), Options{Vars: []string{"max=lots"}})
	if err == nil || !strings.Contains(err.Error(), "-var max=lots") {
		t.Fatalf("error %v; want it to name -var max=lots", err)
	}
}
