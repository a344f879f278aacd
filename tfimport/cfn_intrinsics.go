package tfimport

import (
	"encoding/base64"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

var shortForms = map[string]string{
	"!Ref": "Ref", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Select": "Fn::Select", "!GetAZs": "Fn::GetAZs", "!Join": "Fn::Join",
	"!Split": "Fn::Split", "!Base64": "Fn::Base64", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Cidr": "Fn::Cidr", "!ImportValue": "Fn::ImportValue", "!Condition": "Condition",
}

// eval evaluates a template value with its intrinsic functions.
func (t *template) eval(n *yaml.Node) cty.Value {
	if n == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if n.Kind == yaml.AliasNode {
		return t.eval(n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		arg := *n
		arg.Tag = ""
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return t.intrinsic(fn, &arg, n)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return cty.NullVal(cty.DynamicPseudoType)
		case "!!bool":
			return cty.BoolVal(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
		case "!!int", "!!float":
			if f, ok := new(big.Float).SetString(n.Value); ok {
				return cty.NumberVal(f)
			}
		}
		return cty.StringVal(n.Value)
	case yaml.SequenceNode:
		var out []cty.Value
		for _, c := range n.Content {
			if v := t.eval(c); !(v.IsKnown() && v.IsNull() && isNoValue(c)) {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return cty.EmptyTupleVal
		}
		return cty.TupleVal(out)
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || strings.HasPrefix(k, "Fn::") || (k == "Condition" && n.Content[1].Kind == yaml.ScalarNode && t.conditions[n.Content[1].Value] != nil) {
				return t.intrinsic(k, n.Content[1], n)
			}
		}
		obj := map[string]cty.Value{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := t.eval(n.Content[i+1])
			if v.IsKnown() && v.IsNull() && isNoValue(n.Content[i+1]) {
				continue
			}
			obj[n.Content[i].Value] = v
		}
		return cty.ObjectVal(obj)
	}
	return cty.DynamicVal
}

func isNoValue(n *yaml.Node) bool {
	if n.Tag == "!Ref" && n.Value == "AWS::NoValue" {
		return true
	}
	return n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref" && n.Content[1].Value == "AWS::NoValue"
}

func (t *template) strArg(v cty.Value) (string, bool) {
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case cty.Bool:
		return strconv.FormatBool(v.True()), true
	}
	return "", false
}

func (t *template) list(v cty.Value) []cty.Value {
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out
}

// intrinsic evaluates one intrinsic function; at is where it is written.
func (t *template) intrinsic(fn string, arg, at *yaml.Node) cty.Value {
	switch fn {
	case "Ref":
		return t.ref(arg.Value, at)
	case "Condition":
		return t.condition(arg.Value, at)
	case "Fn::GetAtt":
		var res, attr string
		if arg.Kind == yaml.ScalarNode {
			res, attr, _ = strings.Cut(arg.Value, ".")
		} else if len(arg.Content) == 2 {
			res, attr = arg.Content[0].Value, t.evalStr(arg.Content[1])
		}
		r := t.resources[res]
		if r == nil {
			t.errorf(at, "Fn::GetAtt: reference to undeclared resource %s", res)
			return cty.DynamicVal
		}
		switch attr {
		case "LatestVersionNumber", "DefaultVersionNumber":
			return cty.StringVal("1")
		case "CidrBlock":
			_, rr := mapping(r)
			_, p := mapping(rr["Properties"])
			if p["CidrBlock"] != nil {
				return t.eval(p["CidrBlock"])
			}
		}
		return cty.StringVal(res + "." + attr)
	case "Fn::Sub":
		tmpl := arg
		vars := map[string]cty.Value{}
		if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
			tmpl = arg.Content[0]
			keys, vals := mapping(arg.Content[1])
			for _, k := range keys {
				vars[k.Value] = t.eval(vals[k.Value])
			}
		}
		if tmpl.Kind != yaml.ScalarNode {
			t.errorf(at, "Fn::Sub takes a string, or a string and a mapping of variables")
			return cty.DynamicVal
		}
		return t.sub(tmpl.Value, vars, at)
	case "Fn::Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Select takes an index and a list")
			return cty.DynamicVal
		}
		iv, lv := t.eval(arg.Content[0]), t.eval(arg.Content[1])
		s, ok := t.strArg(iv)
		items := t.list(lv)
		if !ok || !lv.IsWhollyKnown() {
			return cty.DynamicVal
		}
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(items) {
			t.errorf(at, "Fn::Select: index %s is outside the list of %d", s, len(items))
			return cty.DynamicVal
		}
		return items[i]
	case "Fn::GetAZs":
		region := t.evalStr(arg)
		if region == "" {
			region = t.region
		}
		e := &evaluator{region: region}
		var out []cty.Value
		for _, z := range e.zoneNames() {
			out = append(out, cty.StringVal(z))
		}
		return cty.TupleVal(out)
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Join takes a separator and a list")
			return cty.DynamicVal
		}
		sep := t.evalStr(arg.Content[0])
		lv := t.eval(arg.Content[1])
		if !lv.IsWhollyKnown() {
			return cty.UnknownVal(cty.String)
		}
		var parts []string
		for _, e := range t.list(lv) {
			s, _ := t.strArg(e)
			parts = append(parts, s)
		}
		return cty.StringVal(strings.Join(parts, sep))
	case "Fn::Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Split takes a separator and a string")
			return cty.DynamicVal
		}
		sv := t.eval(arg.Content[1])
		s, ok := t.strArg(sv)
		if !ok {
			return cty.DynamicVal
		}
		var out []cty.Value
		for _, p := range strings.Split(s, t.evalStr(arg.Content[0])) {
			out = append(out, cty.StringVal(p))
		}
		return cty.TupleVal(out)
	case "Fn::Base64":
		v := t.eval(arg)
		s, ok := t.strArg(v)
		if !ok {
			return cty.UnknownVal(cty.String)
		}
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(s)))
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			t.errorf(at, "Fn::If takes a condition name and two values")
			return cty.DynamicVal
		}
		c := t.condition(arg.Content[0].Value, arg.Content[0])
		if !c.IsKnown() {
			return cty.DynamicVal
		}
		if c.True() {
			return t.eval(arg.Content[1])
		}
		return t.eval(arg.Content[2])
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			t.errorf(at, "Fn::Equals takes two values")
			return cty.DynamicVal
		}
		a, b := t.eval(arg.Content[0]), t.eval(arg.Content[1])
		as, ok1 := t.strArg(a)
		bs, ok2 := t.strArg(b)
		if !ok1 || !ok2 {
			return cty.UnknownVal(cty.Bool)
		}
		return cty.BoolVal(as == bs)
	case "Fn::Not", "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			t.errorf(at, "%s takes a list of conditions", fn)
			return cty.DynamicVal
		}
		res := fn == "Fn::And"
		for _, c := range arg.Content {
			v := t.eval(c)
			if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
				return cty.UnknownVal(cty.Bool)
			}
			switch fn {
			case "Fn::Not":
				return cty.BoolVal(!v.True())
			case "Fn::And":
				res = res && v.True()
			case "Fn::Or":
				res = res || v.True()
			}
		}
		return cty.BoolVal(res)
	case "Fn::FindInMap":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 3 {
			t.errorf(at, "Fn::FindInMap takes a map name and two keys")
			return cty.DynamicVal
		}
		_, maps := mapping(t.mappings)
		_, top := mapping(maps[t.evalStr(arg.Content[0])])
		_, second := mapping(top[t.evalStr(arg.Content[1])])
		v := second[t.evalStr(arg.Content[2])]
		if v == nil {
			t.errorf(at, "Fn::FindInMap: no %s.%s.%s in Mappings", t.evalStr(arg.Content[0]), t.evalStr(arg.Content[1]), t.evalStr(arg.Content[2]))
			return cty.DynamicVal
		}
		return t.eval(v)
	case "Fn::Cidr":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			t.errorf(at, "Fn::Cidr takes an address block, a count and the host bits")
			return cty.DynamicVal
		}
		block := t.evalStr(arg.Content[0])
		count, err1 := strconv.Atoi(t.evalStr(arg.Content[1]))
		bits, err2 := strconv.Atoi(t.evalStr(arg.Content[2]))
		p, err3 := netip.ParsePrefix(block)
		if block == "" || block == unknownMarker {
			return cty.DynamicVal
		}
		if err1 != nil || err2 != nil || err3 != nil || count < 1 || count > 256 {
			t.errorf(at, "Fn::Cidr: %q, %s, %s is not an address block, a count (1-256) and host bits", block, t.evalStr(arg.Content[1]), t.evalStr(arg.Content[2]))
			return cty.DynamicVal
		}
		p = p.Masked()
		newbits := p.Addr().BitLen() - bits - p.Bits()
		var out []cty.Value
		for i := 0; i < count; i++ {
			s, err := subnet(p, newbits, big.NewInt(int64(i)))
			if err != nil {
				t.errorf(at, "Fn::Cidr: %v", err)
				return cty.DynamicVal
			}
			out = append(out, cty.StringVal(s.String()))
		}
		return cty.TupleVal(out)
	case "Fn::ImportValue":
		t.note(at, Offline, "Fn::ImportValue", "another stack's export cannot be read offline: unknown, so what depends on it takes a stated default")
		return cty.DynamicVal
	}
	t.note(at, Offline, fn, "this intrinsic function is not evaluated offline: unknown, so what depends on it takes a stated default")
	return cty.DynamicVal
}

// evalStr is a value as text ("" when it is not known).
func (t *template) evalStr(n *yaml.Node) string {
	s, ok := t.strArg(t.eval(n))
	if !ok {
		return ""
	}
	return s
}

func (t *template) ref(name string, at *yaml.Node) cty.Value {
	switch name {
	case "AWS::Region":
		return cty.StringVal(t.region)
	case "AWS::AccountId":
		return cty.StringVal("000000000000")
	case "AWS::StackName", "AWS::StackId":
		return cty.StringVal("lab")
	case "AWS::Partition":
		return cty.StringVal("aws")
	case "AWS::URLSuffix":
		return cty.StringVal("amazonaws.com")
	case "AWS::NoValue":
		return cty.NullVal(cty.DynamicPseudoType)
	case "AWS::NotificationARNs":
		return cty.EmptyTupleVal
	}
	if v, ok := t.params[name]; ok {
		return v
	}
	if _, ok := t.resources[name]; ok {
		return cty.StringVal(name)
	}
	t.errorf(at, "Ref: reference to undeclared parameter or resource %s", name)
	return cty.DynamicVal
}

func (t *template) condition(name string, at *yaml.Node) cty.Value {
	if v, ok := t.condVals[name]; ok {
		return v
	}
	n := t.conditions[name]
	if n == nil {
		t.errorf(at, "condition %s is not declared under Conditions", name)
		return cty.UnknownVal(cty.Bool)
	}
	if t.evaluating[name] {
		t.errorf(at, "cycle: condition %s refers to itself", name)
		return cty.UnknownVal(cty.Bool)
	}
	t.evaluating[name] = true
	v := t.eval(n)
	delete(t.evaluating, name)
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		v = cty.UnknownVal(cty.Bool)
	}
	t.condVals[name] = v
	return v
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub is Fn::Sub: ${Name} a parameter, resource or variable, ${Res.Attr}
// an attribute, ${!Literal} the text ${Literal}.
func (t *template) sub(s string, vars map[string]cty.Value, at *yaml.Node) cty.Value {
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v cty.Value
		if vv, ok := vars[name]; ok {
			v = vv
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			if _, declared := t.resources[res]; !declared {
				t.errorf(at, "Fn::Sub: reference to undeclared resource %s", res)
				return m
			}
			v = cty.StringVal(res + "." + attr)
		} else {
			v = t.ref(name, at)
		}
		str, ok := t.strArg(v)
		if !ok {
			return unknownMarker
		}
		return str
	})
	return cty.StringVal(out)
}
