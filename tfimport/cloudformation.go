package tfimport

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// CloudFormation imports the CloudFormation template (YAML or JSON) at
// path; o.Vars set its parameters (NAME=VALUE).
func CloudFormation(path string, o Options) (*Result, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	c, err := evalTemplate(path, data, o)
	if err != nil {
		return nil, err
	}
	m := newMapper(path, c.Instances)
	m.dir = dirOf(path)
	m.cfn = true
	m.notes = append(m.notes, c.Notes...)
	m.region = c.Region
	return m.result("cloudformation", path)
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[:i]
	}
	return "."
}

// template is a CloudFormation template being evaluated.
type template struct {
	file       string
	params     map[string]cty.Value
	mappings   *yaml.Node
	conditions map[string]*yaml.Node
	condVals   map[string]cty.Value
	resources  map[string]*yaml.Node // logical id → the resource's mapping
	region     string
	notes      []Note
	errs       []Error
	evaluating map[string]bool
}

func (t *template) errorf(n *yaml.Node, format string, args ...any) {
	t.errs = append(t.errs, Error{Pos: Pos{File: t.file, Line: n.Line, Col: n.Column}, Msg: fmt.Sprintf(format, args...)})
}

func (t *template) note(n *yaml.Node, kind, subject, format string, args ...any) {
	t.notes = append(t.notes, Note{Pos: Pos{File: t.file, Line: n.Line, Col: n.Column}, Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

func rng(file string, n *yaml.Node) hcl.Range {
	p := hcl.Pos{Line: n.Line, Column: n.Column}
	return hcl.Range{Filename: file, Start: p, End: p}
}

// mapping is a mapping node's keys and values, in order.
func mapping(n *yaml.Node) ([]*yaml.Node, map[string]*yaml.Node) {
	var keys []*yaml.Node
	vals := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, vals
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i])
		vals[n.Content[i].Value] = n.Content[i+1]
	}
	return keys, vals
}

// evalTemplate evaluates the template's resources into instances shaped as
// the Terraform resources the mapping reads.
func evalTemplate(file string, data []byte, o Options) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &Errors{List: []Error{{Pos: Pos{File: file, Line: line}, Msg: "template syntax: " + strings.TrimPrefix(msg, "yaml: ")}}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Errors{List: []Error{{Pos: Pos{File: file}, Msg: "not a CloudFormation template: the file is not a mapping with Resources"}}}
	}
	root := doc.Content[0]
	_, top := mapping(root)
	t := &template{file: file, params: map[string]cty.Value{}, mappings: top["Mappings"], conditions: map[string]*yaml.Node{},
		condVals: map[string]cty.Value{}, resources: map[string]*yaml.Node{}, region: DefaultRegion, evaluating: map[string]bool{}}
	if top["Resources"] == nil || top["Resources"].Kind != yaml.MappingNode {
		return nil, &Errors{List: []Error{{Pos: Pos{File: file, Line: root.Line}, Msg: "not a CloudFormation template: no Resources mapping"}}}
	}
	t.region = guessRegion(root)
	given := map[string]string{}
	for _, kv := range o.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &Errors{List: []Error{{Pos: Pos{File: "-var " + kv}, Msg: "give -var as NAME=VALUE"}}}
		}
		given[k] = v
	}
	pkeys, pvals := mapping(top["Parameters"])
	for _, k := range pkeys {
		_, p := mapping(pvals[k.Value])
		typ := ""
		if p["Type"] != nil {
			typ = p["Type"].Value
		}
		switch v, ok := given[k.Value]; {
		case ok:
			t.params[k.Value] = paramVal(typ, v)
			delete(given, k.Value)
		case p["Default"] != nil && strings.HasPrefix(typ, "AWS::SSM::Parameter::Value"):
			t.note(k, Offline, "Parameters."+k.Value, "an SSM parameter's value needs AWS; %s taken", PlaceholderAMI)
			t.params[k.Value] = cty.StringVal(PlaceholderAMI)
		case p["Default"] != nil:
			t.params[k.Value] = paramVal(typ, p["Default"].Value)
		default:
			t.note(k, Offline, "Parameters."+k.Value, "no default and no value given (-var %s=...): taken as unknown, so what depends on it takes a stated default", k.Value)
			t.params[k.Value] = cty.UnknownVal(cty.String)
		}
	}
	for k := range given {
		return nil, &Errors{List: []Error{{Pos: Pos{File: "-var " + k}, Msg: fmt.Sprintf("the template has no parameter %q", k)}}}
	}
	ckeys, cvals := mapping(top["Conditions"])
	for _, k := range ckeys {
		t.conditions[k.Value] = cvals[k.Value]
	}
	rkeys, rvals := mapping(top["Resources"])
	for _, k := range rkeys {
		t.resources[k.Value] = rvals[k.Value]
	}
	var instances []*Instance
	for seq, k := range rkeys {
		if inst := t.resource(k, rvals[k.Value], seq); inst != nil {
			instances = append(instances, inst)
		}
	}
	// a warm pool is its own resource in CloudFormation, a block of the group in Terraform
	var kept []*Instance
	for _, i := range instances {
		if i.Type != "aws_autoscaling_warm_pool" {
			kept = append(kept, i)
			continue
		}
		v := i.Body.Attrs["AutoScalingGroupName"]
		attached := false
		for _, g := range instances {
			if g.Type == "aws_autoscaling_group" && v != nil && isStr(v.V) && v.V.AsString() == g.Name {
				wp := &Body{Attrs: map[string]*Val{}, Rng: i.Body.Rng}
				ren := map[string]string{"PoolState": "pool_state", "MinSize": "min_size", "MaxGroupPreparedCapacity": "max_group_prepared_capacity"}
				for k, a := range i.Body.Attrs {
					if tk, ok := ren[k]; ok {
						wp.Attrs[tk] = a
					}
				}
				if rp := i.Body.Attrs["InstanceReusePolicy"]; rp != nil && rp.V.Type().IsObjectType() && rp.V.Type().HasAttribute("ReuseOnScaleIn") {
					wp.Blocks = append(wp.Blocks, &Block{Type: "instance_reuse_policy", Rng: rp.Rng, Body: &Body{Attrs: map[string]*Val{"reuse_on_scale_in": {V: rp.V.GetAttr("ReuseOnScaleIn"), Rng: rp.Rng}}}})
				}
				g.Body.Blocks = append(g.Body.Blocks, &Block{Type: "warm_pool", Body: wp, Rng: i.Decl})
				attached = true
			}
		}
		if !attached {
			kept = append(kept, i)
		}
	}
	if len(t.errs) > 0 {
		sortErrors(t.errs)
		return nil, &Errors{List: t.errs}
	}
	return &Config{Dir: file, Region: t.region, Instances: kept, Notes: t.notes}, nil
}

// guessRegion is the region of the first literal zone name in the template.
func guessRegion(n *yaml.Node) string {
	re := regexp.MustCompile(`^([a-z]{2}(-gov)?-[a-z]+-[0-9]+)[a-z]$`)
	var found string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if found != "" || n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode {
			if m := re.FindStringSubmatch(n.Value); m != nil {
				found = m[1]
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if found == "" {
		return DefaultRegion
	}
	return found
}

func paramVal(typ, v string) cty.Value {
	switch {
	case typ == "Number":
		if f, ok := new(big.Float).SetString(v); ok {
			return cty.NumberVal(f)
		}
	case strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList":
		var out []cty.Value
		for _, s := range strings.Split(v, ",") {
			out = append(out, cty.StringVal(strings.TrimSpace(s)))
		}
		return cty.TupleVal(out)
	}
	return cty.StringVal(v)
}

// resource evaluates one resource into an instance.
func (t *template) resource(k, n *yaml.Node, seq int) *Instance {
	_, r := mapping(n)
	if r["Type"] == nil {
		t.errorf(n, "Resources.%s: Type is required", k.Value)
		return nil
	}
	typ := r["Type"].Value
	if c := r["Condition"]; c != nil {
		v := t.condition(c.Value, c)
		if v.IsKnown() && !v.True() {
			t.note(k, NotModelled, k.Value, "condition %s is false: the resource is not created", c.Value)
			return nil
		}
	}
	tfType, ok := cfnTypes[typ]
	if !ok {
		tfType = typ
	}
	name := k.Value
	body := &Body{Attrs: map[string]*Val{}, Rng: rng(t.file, k)}
	_, pr := mapping(r["Properties"])
	pkeys, _ := mapping(r["Properties"])
	ren := props[tfType]
	for _, pk := range pkeys {
		pn := pr[pk.Value]
		v := t.eval(pn)
		if v.IsNull() && !v.Type().Equals(cty.DynamicPseudoType) {
			continue
		}
		at := rng(t.file, pk)
		if t.special(tfType, pk.Value, v, at, pn, body) {
			continue
		}
		key := pk.Value
		if tk, ok := ren[key]; ok {
			key = tk
		}
		body.Attrs[key] = &Val{V: v, Rng: at}
	}
	// resource attributes that change behaviour are listed when the
	// resource is rehearsed (UpdatePolicy, CreationPolicy)
	for _, ra := range []string{"UpdatePolicy", "CreationPolicy"} {
		if n := r[ra]; n != nil {
			body.Attrs[ra] = &Val{V: cty.StringVal("set"), Rng: rng(t.file, n)}
		}
	}
	inst := &Instance{Mode: "resource", Type: tfType, Name: name, Addr: k.Value, Key: cty.NilVal, Body: body, Decl: rng(t.file, k), seq: seq}
	obj := body.object()
	obj["id"], obj["arn"], obj["name"] = cty.StringVal(name), cty.StringVal(name), cty.StringVal(name)
	inst.Value = cty.ObjectVal(obj)
	return inst
}
