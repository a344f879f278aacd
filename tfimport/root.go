package tfimport

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Options are the import's inputs beyond the directory, as terraform plan
// takes them.
type Options struct {
	// VarFiles are -var-file files, read in order after terraform.tfvars
	// and *.auto.tfvars.
	VarFiles []string
	// Vars are -var NAME=VALUE, applied last, in order.
	Vars []string
}

// Config is an evaluated configuration: every resource and data instance
// of the root module and the local modules it calls.
type Config struct {
	Dir       string
	Region    string
	Instances []*Instance
	Notes     []Note
	// ModuleZones are the zones remote modules are given (azs): the zones
	// of subnets the configuration does not declare itself.
	ModuleZones []ModuleZones
}

// Evaluate reads and evaluates the Terraform configuration in dir. It
// returns *Errors for syntax errors, undeclared references, cycles and
// values that fail to evaluate.
func Evaluate(dir string, o Options) (*Config, error) {
	e := newEvaluator(dir)
	m, errs := loadModule(dir, &e.notes)
	if len(errs) > 0 || m == nil {
		return nil, e.fail(errs)
	}
	e.modules[dir] = m
	given, errs := e.rootValues(m, o)
	if len(errs) > 0 {
		return nil, e.fail(errs)
	}
	vars := e.moduleVars(m, given, hcl.Range{Filename: dir}, "the root module")
	e.evalModule(m, "", vars, 0)
	if len(e.errs) > 0 {
		return nil, e.fail(nil)
	}
	sort.SliceStable(e.instances, func(i, j int) bool {
		a, b := e.instances[i], e.instances[j]
		if a.moduleSeq != b.moduleSeq {
			return a.moduleSeq < b.moduleSeq
		}
		if a.Decl.Filename != b.Decl.Filename {
			return a.Decl.Filename < b.Decl.Filename
		}
		if a.Decl.Start.Byte != b.Decl.Start.Byte {
			return a.Decl.Start.Byte < b.Decl.Start.Byte
		}
		return a.seq < b.seq
	})
	return &Config{Dir: dir, Region: e.region, Instances: e.instances, Notes: e.notes, ModuleZones: e.moduleZones}, nil
}

func (e *evaluator) fail(errs []Error) error {
	all := append(append([]Error{}, errs...), e.errs...)
	sortErrors(all)
	// one message per place
	var out []Error
	seen := map[string]bool{}
	for _, x := range all {
		if !seen[x.Error()] {
			seen[x.Error()] = true
			out = append(out, x)
		}
	}
	return &Errors{List: out}
}

// rootValues are the root module's variable values from terraform.tfvars,
// *.auto.tfvars, -var-file and -var, later ones winning, as Terraform.
func (e *evaluator) rootValues(m *module, o Options) (map[string]cty.Value, []Error) {
	given := map[string]cty.Value{}
	var errs []Error
	// TF_VAR_name in the environment comes first, as in Terraform
	for name, b := range m.variables {
		if raw, ok := os.LookupEnv("TF_VAR_" + name); ok {
			if v, err := e.rawValue(b, name, raw); err != nil {
				errs = append(errs, *err)
			} else {
				given[name] = v
			}
		}
	}
	files := []string{}
	if _, err := os.Stat(filepath.Join(m.dir, "terraform.tfvars")); err == nil {
		files = append(files, filepath.Join(m.dir, "terraform.tfvars"))
	}
	if js, _ := filepath.Glob(filepath.Join(m.dir, "*.tfvars.json")); len(js) > 0 {
		for _, j := range js {
			e.notes = append(e.notes, Note{Pos: Pos{File: j}, Kind: NotModelled, Msg: "JSON variable files are not read; give the values as .tfvars or -var"})
		}
	}
	auto, _ := filepath.Glob(filepath.Join(m.dir, "*.auto.tfvars"))
	sort.Strings(auto)
	files = append(append(files, auto...), o.VarFiles...)
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			errs = append(errs, Error{Pos: Pos{File: f}, Msg: fmt.Sprintf("read variables file: %v", err)})
			continue
		}
		file, diags := hclsyntax.ParseConfig(data, f, hcl.Pos{Line: 1, Column: 1})
		if diags.HasErrors() {
			errs = append(errs, diagErrors(diags)...)
			continue
		}
		attrs, diags := file.Body.JustAttributes()
		if diags.HasErrors() {
			errs = append(errs, diagErrors(diags)...)
			continue
		}
		for name, a := range attrs {
			if _, ok := m.variables[name]; !ok {
				e.note(a.NameRange, NotModelled, "var."+name, "a value for a variable the configuration does not declare; ignored")
				continue
			}
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				errs = append(errs, diagErrors(diags)...)
				continue
			}
			given[name] = v
		}
	}
	for _, kv := range o.Vars {
		name, raw, ok := strings.Cut(kv, "=")
		at := Pos{File: "-var " + kv}
		if !ok || name == "" {
			errs = append(errs, Error{Pos: at, Msg: "give -var as NAME=VALUE"})
			continue
		}
		b, declared := m.variables[name]
		if !declared {
			errs = append(errs, Error{Pos: at, Msg: fmt.Sprintf("no variable %q is declared in the root module", name)})
			continue
		}
		v, err := e.rawValue(b, "-var "+kv, raw)
		if err != nil {
			errs = append(errs, *err)
			continue
		}
		given[name] = v
	}
	return given, errs
}

// rawValue reads a value given as text (-var, TF_VAR_): as it is for a
// string variable, else as an HCL expression of the variable's type.
func (e *evaluator) rawValue(b *hclsyntax.Block, from, raw string) (cty.Value, *Error) {
	t := e.variableType(b)
	if t == cty.String || t == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), from, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return cty.NilVal, &diagErrors(diags)[0]
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, &diagErrors(diags)[0]
	}
	if _, err := convert.Convert(v, t); err != nil {
		return cty.NilVal, &Error{Pos: Pos{File: from}, Msg: fmt.Sprintf("not a %s: %v", t.FriendlyName(), err)}
	}
	return v, nil
}
