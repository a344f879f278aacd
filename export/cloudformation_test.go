package export

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// cfnSpec is the CloudFormation resource specification, cut down by
// testdata/update-cfnspec.sh to the types the exporter writes.
type cfnSpec struct {
	PropertyTypes map[string]specType
	ResourceTypes map[string]specType
}

type specType struct {
	Attributes map[string]specProp
	Properties map[string]specProp
}

type specProp struct {
	Required                                         bool
	PrimitiveType, Type, ItemType, PrimitiveItemType string
}

func readSpec(t *testing.T) *cfnSpec {
	t.Helper()
	data, err := os.ReadFile("testdata/cfnspec-subset.json")
	if err != nil {
		t.Fatal(err)
	}
	var s cfnSpec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// checker collects every problem of one template.
type checker struct {
	spec     *cfnSpec
	resTypes map[string]string // logical id -> type
	params   map[string]bool
	problems []string
}

func (c *checker) errf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// checkTemplate checks a template against the spec: resource types,
// property names, required properties, primitive types, and that every
// Ref, Fn::GetAtt, Fn::Sub variable and DependsOn resolves.
func checkTemplate(t *testing.T, spec *cfnSpec, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	c := &checker{spec: spec, resTypes: map[string]string{}, params: map[string]bool{}}
	for _, p := range mapKeys(get(root, "Parameters")) {
		c.params[p] = true
	}
	resources := get(root, "Resources")
	for _, id := range mapKeys(resources) {
		c.resTypes[id] = get(get(resources, id), "Type").Value
	}
	for _, id := range mapKeys(resources) {
		r := get(resources, id)
		typ := c.resTypes[id]
		rt, ok := spec.ResourceTypes[typ]
		if !ok {
			c.errf("%s: type %s is not in the spec subset (add it to testdata/update-cfnspec.sh)", id, typ)
			continue
		}
		for _, key := range mapKeys(r) {
			if key == "DeletionPolicy" || key == "UpdateReplacePolicy" {
				// CloudFormation's resource attributes: Delete, Retain,
				// RetainExceptOnCreate (deletion only) or Snapshot.
				if v := get(r, key).Value; v != "Delete" && v != "Retain" && v != "Snapshot" && (key != "DeletionPolicy" || v != "RetainExceptOnCreate") {
					c.errf("%s: %s %q is not a policy", id, key, v)
				}
				continue
			}
			if key != "Type" && key != "Properties" && key != "DependsOn" {
				c.errf("%s: unknown resource attribute %s", id, key)
			}
		}
		if deps := get(r, "DependsOn"); deps != nil {
			for _, d := range deps.Content {
				if _, ok := c.resTypes[d.Value]; !ok {
					c.errf("%s: DependsOn %s, which is not a resource", id, d.Value)
				}
			}
		}
		c.props(id, typ, rt, get(r, "Properties"))
	}
	c.refs("template", root)
	return c.problems
}

// props checks a Properties mapping against a resource or property type.
func (c *checker) props(where, owner string, st specType, m *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		c.errf("%s: properties are not a mapping", where)
		return
	}
	present := map[string]bool{}
	for i := 0; i < len(m.Content); i += 2 {
		name, v := m.Content[i].Value, m.Content[i+1]
		present[name] = true
		p, ok := st.Properties[name]
		if !ok {
			c.errf("%s: no property %s", where, name)
			continue
		}
		c.value(where+"."+name, owner, p.PrimitiveType, p.Type, p.ItemType, p.PrimitiveItemType, v)
	}
	for name, p := range st.Properties {
		if p.Required && !present[name] {
			c.errf("%s: required property %s missing", where, name)
		}
	}
}

// value checks one property value: a primitive, a list, a map or a property type.
func (c *checker) value(where, owner, prim, typ, item, primItem string, v *yaml.Node) {
	if isIntrinsic(v) {
		return
	}
	switch {
	case prim != "":
		c.primitive(where, prim, v)
	case typ == "List" || typ == "Map":
		want := map[string]yaml.Kind{"List": yaml.SequenceNode, "Map": yaml.MappingNode}[typ]
		if v.Kind != want {
			c.errf("%s: want a %s", where, typ)
			return
		}
		for i, e := range v.Content {
			if typ == "Map" && i%2 == 0 {
				continue
			}
			c.value(fmt.Sprintf("%s[%d]", where, i), owner, primItem, item, "", "", e)
		}
	default:
		key := owner + "." + typ
		pt, ok := c.spec.PropertyTypes[key]
		if !ok {
			pt, ok = c.spec.PropertyTypes[typ]
		}
		if !ok {
			c.errf("%s: property type %s not in the spec subset", where, typ)
			return
		}
		c.props(where, owner, pt, v)
	}
}

func (c *checker) primitive(where, prim string, v *yaml.Node) {
	ok := v.Kind == yaml.ScalarNode
	switch prim {
	case "String":
		ok = ok && v.Tag == "!!str"
	case "Integer", "Long":
		ok = ok && v.Tag == "!!int"
	case "Double":
		ok = ok && (v.Tag == "!!int" || v.Tag == "!!float")
	case "Boolean":
		ok = ok && v.Tag == "!!bool"
	case "Json":
		ok = true
	}
	if !ok {
		c.errf("%s: %s %q is not a %s", where, v.Tag, v.Value, prim)
	}
}

var pseudo = map[string]bool{"AWS::AccountId": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// refs walks the template and checks every reference resolves.
func (c *checker) refs(where string, n *yaml.Node) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		arg := n.Content[1]
		switch n.Content[0].Value {
		case "Ref":
			if _, ok := c.resTypes[arg.Value]; !ok && !c.params[arg.Value] && !pseudo[arg.Value] {
				c.errf("%s: Ref %s resolves to nothing", where, arg.Value)
			}
		case "Fn::GetAtt":
			if len(arg.Content) != 2 {
				c.errf("%s: Fn::GetAtt needs [resource, attribute]", where)
				break
			}
			c.getAtt(where, arg.Content[0].Value, arg.Content[1].Value)
		case "Fn::Sub":
			for _, m := range subVar.FindAllStringSubmatch(arg.Value, -1) {
				if res, attr, dotted := strings.Cut(m[1], "."); dotted {
					c.getAtt(where, res, attr)
				} else if _, ok := c.resTypes[m[1]]; !ok && !c.params[m[1]] && !pseudo[m[1]] {
					c.errf("%s: Fn::Sub ${%s} resolves to nothing", where, m[1])
				}
			}
		}
	}
	for i, child := range n.Content {
		w := where
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			w = where + "." + n.Content[i-1].Value
		}
		c.refs(w, child)
	}
}

func (c *checker) getAtt(where, res, attr string) {
	typ, ok := c.resTypes[res]
	if !ok {
		c.errf("%s: Fn::GetAtt %s.%s: no resource %s", where, res, attr, res)
		return
	}
	if _, ok := c.spec.ResourceTypes[typ].Attributes[attr]; !ok {
		c.errf("%s: Fn::GetAtt %s.%s: %s has no attribute %s", where, res, attr, typ, attr)
	}
}

func isIntrinsic(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return false
	}
	k := n.Content[0].Value
	return k == "Ref" || strings.HasPrefix(k, "Fn::")
}

// get is the value of key in a mapping node, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapKeys(m *yaml.Node) []string {
	var keys []string
	if m != nil {
		for i := 0; i < len(m.Content); i += 2 {
			keys = append(keys, m.Content[i].Value)
		}
	}
	return keys
}

func TestCloudFormationAgainstSpec(t *testing.T) {
	spec := readSpec(t)
	for _, ts := range testStacks(t) {
		t.Run(ts.name, func(t *testing.T) {
			tmpl, err := CloudFormation(ts.s, ts.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checkTemplate(t, spec, tmpl) {
				t.Error(p)
			}
		})
	}
}

// The checker itself catches what it claims to.
func TestSpecCheckerCatches(t *testing.T) {
	spec := readSpec(t)
	bad := `
Parameters: {P: {Type: String}}
Resources:
  G:
    Type: AWS::AutoScaling::AutoScalingGroup
    DependsOn: [Nope]
    Properties:
      MinSize: 1
      MaxSize: "2"
      Bogus: x
      VPCZoneIdentifier: [{Ref: Missing}, {Ref: P}]
      LaunchTemplate: {LaunchTemplateId: {"Fn::GetAtt": [G, NoSuchAttr]}}
  X:
    Type: AWS::Nope::Thing
  D:
    Type: AWS::EC2::VPC
    DeletionPolicy: Keep
    Properties: {}
`
	got := strings.Join(checkTemplate(t, spec, []byte(bad)), "\n")
	for _, want := range []string{"DependsOn Nope", "MinSize: !!int", "no property Bogus", "Ref Missing",
		"has no attribute NoSuchAttr", "type AWS::Nope::Thing", "required property Version", `DeletionPolicy "Keep" is not a policy`} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q; it said:\n%s", want, got)
		}
	}
}
