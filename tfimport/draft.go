package tfimport

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// draft builds the stack's YAML field by field, each with where its value
// came from as a comment on its line.
type draft struct {
	root *yaml.Node
	prov []Provenance
	// svc, while a service of a stack with services is mapped
	// ("services[N]."), is put before the paths of a service's own
	// sections (target_group, launch_template, auto_scaling_group,
	// scaling_policies, scheduled_actions), so that the one-group mapping
	// writes them under the service.
	svc string
}

// serviceSections are the sections a service of a stack with services has
// of its own (stack.Service).
var serviceSections = []string{"target_group", "launch_template", "auto_scaling_group", "scaling_policies", "scheduled_actions"}

// at is where path is written: under the service being mapped if path is
// one of its sections.
func (d *draft) at(path string) string {
	if d.svc == "" {
		return path
	}
	first := path
	if i := strings.IndexAny(path, ".["); i >= 0 {
		first = path[:i]
	}
	for _, k := range serviceSections {
		if first == k {
			return d.svc + path
		}
	}
	return path
}

func newDraft() *draft { return &draft{root: &yaml.Node{Kind: yaml.MappingNode}} }

// segment is one step of a field path: a key, and an index when the key
// holds a list ("scaling_policies[0]").
type segment struct {
	key   string
	index int // -1: not a list
}

func splitPath(path string) []segment {
	var out []segment
	for _, part := range strings.Split(path, ".") {
		s := segment{key: part, index: -1}
		if k, rest, ok := strings.Cut(part, "["); ok {
			s.key = k
			s.index, _ = strconv.Atoi(strings.TrimSuffix(rest, "]"))
		}
		out = append(out, s)
	}
	return out
}

// child is the value node under key in a mapping, made if absent.
func child(m *yaml.Node, key string, kind yaml.Kind) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	v := &yaml.Node{Kind: kind}
	m.Content = append(m.Content, k, v)
	return v
}

// set writes value at path with its provenance.
func (d *draft) set(path string, value any, from string) {
	path = d.at(path)
	segs := splitPath(path)
	n := d.root
	for i, s := range segs {
		last := i == len(segs)-1
		if s.index >= 0 {
			seq := child(n, s.key, yaml.SequenceNode)
			for len(seq.Content) <= s.index {
				seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.MappingNode})
			}
			n = seq.Content[s.index]
			continue
		}
		if !last {
			n = child(n, s.key, yaml.MappingNode)
			continue
		}
		v := scalar(value)
		v.LineComment = from
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == s.key {
				n.Content[j+1] = v
				d.record(path, from)
				return
			}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key}, v)
	}
	d.record(path, from)
}

func (d *draft) record(path, from string) {
	for i := range d.prov {
		if d.prov[i].Field == path {
			d.prov[i].From = from
			return
		}
	}
	d.prov = append(d.prov, Provenance{Field: path, From: from})
}

// name is the stack's name as set so far ("" before it is).
func (d *draft) name() string {
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == "name" {
			return d.root.Content[i+1].Value
		}
	}
	return ""
}

// has reports whether a field was set.
func (d *draft) has(path string) bool {
	path = d.at(path)
	for _, p := range d.prov {
		if p.Field == path {
			return true
		}
	}
	return false
}

// secs is a duration as the stack writes AWS's whole seconds.
type secs int

func scalar(v any) *yaml.Node {
	s := func(tag, val string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val} }
	switch v := v.(type) {
	case string:
		n := s("!!str", v)
		switch strings.ToLower(v) {
		case "y", "n", "yes", "no", "on", "off", "true", "false":
			n.Style = yaml.DoubleQuotedStyle // a YAML 1.1 reader would take it for a boolean
		}
		return n
	case int:
		return s("!!int", strconv.Itoa(v))
	case secs:
		return s("!!str", fmt.Sprintf("%ds", int(v)))
	case time.Duration:
		return s("!!str", v.String())
	case float64:
		if v == float64(int64(v)) {
			return s("!!int", strconv.FormatInt(int64(v), 10))
		}
		return s("!!float", strconv.FormatFloat(v, 'f', -1, 64))
	case bool:
		return s("!!bool", strconv.FormatBool(v))
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, e := range v {
			n.Content = append(n.Content, s("!!str", e))
		}
		return n
	case map[string]string:
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Content = append(n.Content, s("!!str", k), s("!!str", v[k]))
		}
		return n
	}
	panic(fmt.Sprintf("tfimport: no YAML for %T", v))
}

// bytes is the stack file: a header, then the fields.
func (d *draft) bytes(head string) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: head, Content: []*yaml.Node{d.root}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
