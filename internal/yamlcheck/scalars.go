package yamlcheck

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The getters below read m[key], the value of key in the mapping at path,
// into dst. An absent key leaves dst alone; a value of the wrong kind is
// reported and also leaves dst alone.

// Scalar returns the scalar value at m[key], or nil if absent or not a
// scalar (which it reports, saying it wanted want).
func (p *Parser) Scalar(m map[string]*yaml.Node, path, key, want string) *yaml.Node {
	n := m[key]
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		p.ErrAt(n, Sub(path, key), "want %s, got %s", want, Describe(n))
		return nil
	}
	return n
}

// Str reads text.
func (p *Parser) Str(m map[string]*yaml.Node, path, key string, dst *string) {
	if n := p.Scalar(m, path, key, "text"); n != nil {
		*dst = n.Value
	}
}

// Int reads a whole number.
func (p *Parser) Int(m map[string]*yaml.Node, path, key string, dst *int) {
	n := p.Scalar(m, path, key, "a whole number")
	if n == nil {
		return
	}
	var v int
	if n.Tag != "!!int" || n.Decode(&v) != nil {
		p.ErrAt(n, Sub(path, key), "%s is not a whole number", Describe(n))
		return
	}
	*dst = v
}

// Float reads a finite number.
func (p *Parser) Float(m map[string]*yaml.Node, path, key string, dst *float64) {
	n := p.Scalar(m, path, key, "a number")
	if n == nil {
		return
	}
	var v float64
	if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.ErrAt(n, Sub(path, key), "%s is not a number", Describe(n))
		return
	}
	*dst = v
}

// OptFloat is Float for a field that may be absent: nil when it is.
func (p *Parser) OptFloat(m map[string]*yaml.Node, path, key string) *float64 {
	var v float64
	if m[key] == nil {
		return nil
	}
	p.Float(m, path, key, &v)
	return &v
}

// Bool reads true or false.
func (p *Parser) Bool(m map[string]*yaml.Node, path, key string, dst *bool) {
	n := p.Scalar(m, path, key, "true or false")
	if n == nil {
		return
	}
	if n.Tag != "!!bool" || n.Decode(dst) != nil {
		p.ErrAt(n, Sub(path, key), "%s is not true or false", Describe(n))
	}
}

// Dur reads a duration: an integer is seconds (as in AWS's API), text is a
// Go duration ("30s", "5m"). AWS's settings are whole seconds; anyUnit lets
// a lab-only setting (boot_time) take any precision.
func (p *Parser) Dur(m map[string]*yaml.Node, path, key string, dst *time.Duration, anyUnit bool) {
	n := p.Scalar(m, path, key, "a duration")
	if n == nil {
		return
	}
	field := Sub(path, key)
	d, ok := ParseDuration(n)
	if !ok {
		p.ErrAt(n, field, "%s is not a duration; use seconds (30) or a duration such as 30s or 5m", Describe(n))
		return
	}
	if !anyUnit && d%time.Second != 0 {
		p.ErrAt(n, field, "%s is not a whole number of seconds; AWS takes whole seconds", d)
		return
	}
	*dst = d
}

// ParseDuration reads a scalar as whole seconds (30, "30") or a Go duration
// ("30s", "5m").
func ParseDuration(n *yaml.Node) (time.Duration, bool) {
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

// OptDur is Dur (whole seconds) for a field that may be absent: nil when it is.
func (p *Parser) OptDur(m map[string]*yaml.Node, path, key string) *time.Duration {
	if m[key] == nil {
		return nil
	}
	var d time.Duration
	p.Dur(m, path, key, &d, false)
	return &d
}

// StrList reads a list of plain values.
func (p *Parser) StrList(m map[string]*yaml.Node, path, key string, dst *[]string) {
	field := Sub(path, key)
	items := p.List(m[key], field)
	if m[key] == nil || p.bad[field] {
		return
	}
	out := make([]string, 0, len(items))
	for i, n := range items {
		if n.Kind != yaml.ScalarNode {
			p.ErrAt(n, Index(field, i), "want text, got %s", Describe(n))
			continue
		}
		out = append(out, n.Value)
	}
	*dst = out
}

// StrMap reads a mapping of names to plain values (an environment).
func (p *Parser) StrMap(m map[string]*yaml.Node, path, key string, dst *map[string]string) {
	field := Sub(path, key)
	vals := p.Mapping(m[key], field)
	if vals == nil {
		return
	}
	out := make(map[string]string, len(vals))
	for k, n := range vals {
		if n.Kind != yaml.ScalarNode {
			p.ErrAt(n, Sub(field, k), "want text, got %s", Describe(n))
			continue
		}
		out[k] = n.Value
	}
	*dst = out
}
