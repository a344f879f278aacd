package yamlcheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parser walks a file's YAML nodes. It remembers where every value is (by
// field path) so that validation can point at it, and collects every problem
// instead of stopping at the first.
type Parser struct {
	file  string
	errs  []Error
	nodes map[string]*yaml.Node // field path -> value node; "" is the document's root mapping
	bad   map[string]bool       // fields already reported: one problem per field is enough
}

// NewParser starts a parser for the named file (the name is only used in
// error messages).
func NewParser(file string) *Parser {
	return &Parser{file: file, nodes: map[string]*yaml.Node{}, bad: map[string]bool{}}
}

// Err returns every problem reported so far as *Errors, sorted by position,
// or nil when there is none.
func (p *Parser) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	list := slices.Clone(p.errs)
	Sort(list)
	return &Errors{List: list}
}

// ErrAt reports a problem with field at node n. Only the first problem
// reported for a field is kept.
func (p *Parser) ErrAt(n *yaml.Node, field, format string, args ...any) {
	if p.bad[field] {
		return
	}
	p.bad[field] = true
	p.errs = append(p.errs, Error{File: p.file, Line: n.Line, Col: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Errf reports a problem with a field at its value, or, for a field the
// file does not have, at the nearest mapping or list that encloses it.
func (p *Parser) Errf(field, format string, args ...any) {
	path := field
	for p.nodes[path] == nil && path != "" {
		path = Parent(path)
	}
	n := p.nodes[path]
	if n == nil {
		n = &yaml.Node{Line: 1, Column: 1}
	}
	p.ErrAt(n, field, format, args...)
}

// Has reports whether the file gives the field a (non-null) value.
func (p *Parser) Has(field string) bool { return p.nodes[field] != nil }

// Bad reports whether a problem with the field was already reported.
func (p *Parser) Bad(field string) bool { return p.bad[field] }

// Sub is the path of key inside path.
func Sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index is the path of the i-th element of the list at path.
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// Parent strips the last key or index from a field path.
func Parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// Describe names a node's value for an error message.
func Describe(n *yaml.Node) string {
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

// Mapping checks that n is a mapping whose keys are all known, records where
// each value is, and returns the values by key. A nil n (the section is
// absent) gives a nil map, which every getter treats as "all absent". Null
// values count as absent; known == nil allows any key.
func (p *Parser) Mapping(n *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.ErrAt(n, path, "want a mapping (key: value), got %s", Describe(n))
		return nil
	}
	p.nodes[path] = n
	m := map[string]*yaml.Node{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		field := Sub(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			p.ErrAt(k, path, "keys must be plain names, got %s", Describe(k))
			continue
		case seen[k.Value] != nil:
			p.ErrAt(k, field, "given twice (first on line %d); give each key once", seen[k.Value].Line)
			continue
		case known != nil && !slices.Contains(known, k.Value):
			if c := Closest(k.Value, known); c != "" {
				p.ErrAt(k, field, "unknown key; did you mean %s?", c)
			} else {
				p.ErrAt(k, field, "unknown key; allowed keys are %s", strings.Join(known, ", "))
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

// List checks that n is a list and returns its elements, recording where
// each one is.
func (p *Parser) List(n *yaml.Node, path string) []*yaml.Node {
	if n = deref(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.ErrAt(n, path, "want a list, got %s", Describe(n))
		return nil
	}
	p.nodes[path] = n
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = deref(item)
		p.nodes[Index(path, i)] = items[i]
	}
	return items
}

// OneOf checks an enumerated setting and reports whether it is allowed.
func (p *Parser) OneOf(field, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	p.Errf(field, "%s", OneOfMsg(v, allowed))
	return false
}

// Adopt takes the problems another parser of the same file found (one that
// read part of the file as a document of its own), their fields put under
// prefix, as in services[1].
func (p *Parser) Adopt(prefix string, errs []Error) {
	for _, e := range errs {
		if e.Field == "" {
			e.Field = prefix
		} else {
			e.Field = prefix + "." + e.Field
		}
		if p.bad[e.Field] {
			continue
		}
		p.bad[e.Field] = true
		p.errs = append(p.errs, e)
	}
}
