package stack

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// parser walks a stack file's YAML nodes. It remembers where every value is
// (by field path) so that validation can point at it, and collects every
// problem instead of stopping at the first.
type parser struct {
	file  string
	errs  []Error
	nodes map[string]*yaml.Node // field path -> value node; "" is the document's root mapping
	bad   map[string]bool       // fields already reported: one problem per field is enough
}

func newParser(file string) *parser {
	return &parser{file: file, nodes: map[string]*yaml.Node{}, bad: map[string]bool{}}
}

// errAt reports a problem at node n.
func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) {
	if p.bad[field] {
		return
	}
	p.bad[field] = true
	p.errs = append(p.errs, Error{File: p.file, Line: n.Line, Col: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// errf reports a problem with a field at its value, or, for a field the file
// does not have, at the nearest mapping that encloses it.
func (p *parser) errf(field, format string, args ...any) {
	path := field
	for p.nodes[path] == nil && path != "" {
		path = parent(path)
	}
	n := p.nodes[path]
	if n == nil {
		n = &yaml.Node{Line: 1, Column: 1}
	}
	p.errAt(n, field, format, args...)
}

// has reports whether the file gives the field a (non-null) value.
func (p *parser) has(field string) bool { return p.nodes[field] != nil }

// sub is the path of key inside path.
func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index is the path of the i-th element of the list at path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// parent strips the last key or index from a field path.
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// describe names a node's value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// deref follows YAML aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping checks that n is a mapping whose keys are all known, records where
// each value is, and returns the values by key. A nil n (the section is
// absent) gives a nil map, which every getter below treats as "all absent".
// Null values count as absent; known == nil allows any key.
func (p *parser) mapping(n *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, path, "want a mapping (key: value), got %s", describe(n))
		return nil
	}
	p.nodes[path] = n
	m := map[string]*yaml.Node{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		field := sub(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errAt(k, path, "keys must be plain names, got %s", describe(k))
			continue
		case seen[k.Value] != nil:
			p.errAt(k, field, "given twice (first on line %d); give each key once", seen[k.Value].Line)
			continue
		case known != nil && !contains(known, k.Value):
			if c := closest(k.Value, known); c != "" {
				p.errAt(k, field, "unknown key; did you mean %s?", c)
			} else {
				p.errAt(k, field, "unknown key; allowed keys are %s", strings.Join(known, ", "))
			}
			continue
		}
		seen[k.Value] = k
		if isNull(v) {
			continue
		}
		m[k.Value] = v
		p.nodes[field] = v
	}
	return m
}

// list checks that n is a list and returns its elements, recording where
// each one is.
func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, path, "want a list, got %s", describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = deref(item)
		p.nodes[index(path, i)] = items[i]
	}
	return items
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns the scalar value at m[key], or nil if absent or not a scalar
// (which it reports).
func (p *parser) scalar(m map[string]*yaml.Node, path, key, want string) *yaml.Node {
	n := m[key]
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		p.errAt(n, sub(path, key), "want %s, got %s", want, describe(n))
		return nil
	}
	return n
}

func (p *parser) str(m map[string]*yaml.Node, path, key string, dst *string) {
	if n := p.scalar(m, path, key, "text"); n != nil {
		*dst = n.Value
	}
}

func (p *parser) int(m map[string]*yaml.Node, path, key string, dst *int) {
	n := p.scalar(m, path, key, "a whole number")
	if n == nil {
		return
	}
	var v int
	if n.Tag != "!!int" || n.Decode(&v) != nil {
		p.errAt(n, sub(path, key), "%s is not a whole number", describe(n))
		return
	}
	*dst = v
}

func (p *parser) float(m map[string]*yaml.Node, path, key string, dst *float64) {
	n := p.scalar(m, path, key, "a number")
	if n == nil {
		return
	}
	var v float64
	if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errAt(n, sub(path, key), "%s is not a number", describe(n))
		return
	}
	*dst = v
}

// optFloat is float for a field that may be absent: nil when it is.
func (p *parser) optFloat(m map[string]*yaml.Node, path, key string) *float64 {
	var v float64
	if m[key] == nil {
		return nil
	}
	p.float(m, path, key, &v)
	return &v
}

func (p *parser) bool(m map[string]*yaml.Node, path, key string, dst *bool) {
	n := p.scalar(m, path, key, "true or false")
	if n == nil {
		return
	}
	if n.Tag != "!!bool" || n.Decode(dst) != nil {
		p.errAt(n, sub(path, key), "%s is not true or false", describe(n))
	}
}

// dur reads a duration: an integer is seconds (as in AWS's API), text is a
// Go duration ("30s", "5m"). AWS's settings are whole seconds; anyUnit lets a
// lab-only setting (boot_time) take any precision.
func (p *parser) dur(m map[string]*yaml.Node, path, key string, dst *time.Duration, anyUnit bool) {
	n := p.scalar(m, path, key, "a duration")
	if n == nil {
		return
	}
	field := sub(path, key)
	d, ok := parseDuration(n)
	if !ok {
		p.errAt(n, field, "%s is not a duration; use seconds (30) or a duration such as 30s or 5m", describe(n))
		return
	}
	if !anyUnit && d%time.Second != 0 {
		p.errAt(n, field, "%s is not a whole number of seconds; AWS takes whole seconds", d)
		return
	}
	*dst = d
}

func parseDuration(n *yaml.Node) (time.Duration, bool) {
	if n.Tag == "!!int" || (n.Tag == "!!str" && n.Value != "" && strings.Trim(n.Value, "0123456789") == "") {
		secs, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) || secs < math.MinInt64/int64(time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if n.Tag != "!!str" {
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	return d, err == nil
}

// optDur is dur for a field that may be absent: nil when it is.
func (p *parser) optDur(m map[string]*yaml.Node, path, key string) *time.Duration {
	if m[key] == nil {
		return nil
	}
	var d time.Duration
	p.dur(m, path, key, &d, false)
	return &d
}

// strList reads a list of plain values.
func (p *parser) strList(m map[string]*yaml.Node, path, key string, dst *[]string) {
	field := sub(path, key)
	items := p.list(m[key], field)
	if m[key] == nil || p.bad[field] {
		return
	}
	out := make([]string, 0, len(items))
	for i, n := range items {
		if n.Kind != yaml.ScalarNode {
			p.errAt(n, index(field, i), "want text, got %s", describe(n))
			continue
		}
		out = append(out, n.Value)
	}
	*dst = out
}

// strMap reads a mapping of names to plain values (an environment).
func (p *parser) strMap(m map[string]*yaml.Node, path, key string, dst *map[string]string) {
	field := sub(path, key)
	vals := p.mapping(m[key], field)
	if vals == nil {
		return
	}
	out := make(map[string]string, len(vals))
	for k, n := range vals {
		if n.Kind != yaml.ScalarNode {
			p.errAt(n, sub(field, k), "want text, got %s", describe(n))
			continue
		}
		out[k] = n.Value
	}
	*dst = out
}
