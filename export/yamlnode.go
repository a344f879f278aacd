package export

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// obj is a YAML mapping that keeps its keys in the order written, so the
// template comes out the same every time.
type obj []field

// field is one key of an obj; a comment is written above the key.
type field struct {
	key, comment string
	val          any
}

// set appends key: val (val nil drops the key, for optional properties).
func (o *obj) set(key string, val any, comment ...string) {
	if val == nil {
		return
	}
	f := field{key: key, val: val}
	if len(comment) > 0 {
		f.comment = comment[0]
	}
	*o = append(*o, f)
}

// CloudFormation intrinsic functions, in their long (JSON-equivalent) form.
func ref(name string) obj               { return obj{{key: "Ref", val: name}} }
func getAtt(name, attr string) obj      { return obj{{key: "Fn::GetAtt", val: []any{name, attr}}} }
func fn(name string, arg any) obj       { return obj{{key: "Fn::" + name, val: arg}} }
func strVal(n int) string               { return strconv.Itoa(n) }
func tag(key string, val any) obj       { return obj{{key: "Key", val: key}, {key: "Value", val: val}} }
func nameTags(val any) []any            { return []any{tag("Name", val)} }
func sub(template string) obj           { return fn("Sub", template) }
func join(sep string, parts ...any) obj { return fn("Join", []any{sep, parts}) }

// yaml11Bools are the words YAML 1.1 reads as booleans unless quoted.
var yaml11Bools = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true}

// node turns a value into a YAML node; strings stay strings even when
// they look like numbers, as CloudFormation's String properties need.
func node(v any) *yaml.Node {
	switch v := v.(type) {
	case obj:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, f := range v {
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key, HeadComment: f.comment}
			n.Content = append(n.Content, k, node(f.val))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range v {
			n.Content = append(n.Content, node(e))
		}
		return n
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range v {
			n.Content = append(n.Content, node(e))
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if len(v) > 60 && bytes.IndexByte([]byte(v), '\n') >= 0 {
			n.Style = yaml.LiteralStyle
		}
		if yaml11Bools[strings.ToLower(v)] {
			n.Style = yaml.DoubleQuotedStyle // "off", "on": a YAML 1.1 reader would take them for booleans
		}
		return n
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case float64:
		if v == float64(int64(v)) {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(v), 10)}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(v, 'f', -1, 64)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	}
	panic(fmt.Sprintf("export: no YAML for %T", v))
}

// encodeYAML writes a document with a header comment, two-space indents.
func encodeYAML(head string, root obj) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: head, Content: []*yaml.Node{node(root)}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
