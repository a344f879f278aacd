package tfimport

import (
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// mapper maps an evaluated configuration onto the stack's fields.
type mapper struct {
	dir    string
	d      *draft
	notes  []Note
	errs   []Error
	byType map[string][]*Instance
	byRef  map[string][]*Instance
	used   map[*Instance]bool // mapped instances: their unread arguments are listed
	all    []*Instance
	region string
	// moduleZones are remote modules' azs inputs, the zones taken when
	// the group's subnets are not known offline.
	moduleZones []ModuleZones
	// cfn: the resources come from a CloudFormation template, whose
	// defaults are AWS's own, not the Terraform provider's.
	cfn bool
	// zoneSubnets are the subnets whose availability_zone gave a zone.
	zoneSubnets map[*Instance]bool
	// tgNames are the services' target groups by their stack names, on a
	// configuration of several services (services.go); nil on one.
	tgNames map[*Instance]string
	// schedZero, with several services, is the one time zero of every
	// service's schedules (the hour of their earliest start_time); zero
	// otherwise: each group's own.
	schedZero time.Time
}

func newMapper(dir string, instances []*Instance) *mapper {
	m := &mapper{dir: dir, d: newDraft(), byType: map[string][]*Instance{}, byRef: map[string][]*Instance{}, used: map[*Instance]bool{}, all: instances, zoneSubnets: map[*Instance]bool{}}
	for _, i := range instances {
		if i.Mode != "resource" {
			continue
		}
		t := canonical(i.Type)
		m.byType[t] = append(m.byType[t], i)
		if i.Value.Type().IsObjectType() {
			for _, a := range []string{"id", "arn", "name", "arn_suffix", "identifier", "cluster_identifier"} {
				if i.Value.Type().HasAttribute(a) {
					if v := i.Value.GetAttr(a); v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
						if !slices.Contains(m.byRef[v.AsString()], i) {
							m.byRef[v.AsString()] = append(m.byRef[v.AsString()], i)
						}
					}
				}
			}
		}
	}
	return m
}

// canonical folds the provider's older aws_alb* names into aws_lb*.
func canonical(t string) string {
	if rest, ok := strings.CutPrefix(t, "aws_alb"); ok {
		return "aws_lb" + rest
	}
	return t
}

// where is "file.tf:12" for a value, the file relative to the configuration.
func (m *mapper) where(v *Val) string {
	p := posOf(v.Rng)
	if r, err := filepath.Rel(m.dir, p.File); err == nil && !strings.HasPrefix(r, "..") {
		p.File = r
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

func (m *mapper) from(i *Instance, v *Val, attr string) string {
	return m.where(v) + " " + i.Addr + " " + attr
}

func (m *mapper) note(v *Val, kind, subject, format string, args ...any) {
	m.notes = append(m.notes, Note{Pos: posOf(v.Rng), Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

func (m *mapper) instNote(i *Instance, kind, subject, format string, args ...any) {
	m.notes = append(m.notes, Note{Pos: i.Pos(), Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

// known reports whether an argument has a known value; an unknown one is
// noted with the default the stack takes instead.
func (m *mapper) known(i *Instance, v *Val, attr, instead string) bool {
	if v == nil {
		return false
	}
	if !v.V.IsWhollyKnown() || hasMarker(v.V) {
		m.note(v, Offline, i.Addr+": "+attr, "not known offline; %s", instead)
		return false
	}
	return true
}

func (m *mapper) str(i *Instance, v *Val, attr, instead string) (string, bool) {
	if !m.known(i, v, attr, instead) {
		return "", false
	}
	c, err := convert.Convert(v.V, cty.String)
	if err != nil {
		m.note(v, Inexact, i.Addr+": "+attr, "%s is not text; %s", v.V.Type().FriendlyName(), instead)
		return "", false
	}
	return c.AsString(), true
}

func (m *mapper) num(i *Instance, v *Val, attr, instead string) (float64, bool) {
	if !m.known(i, v, attr, instead) {
		return 0, false
	}
	c, err := convert.Convert(v.V, cty.Number)
	if err != nil {
		m.note(v, Inexact, i.Addr+": "+attr, "%s is not a number; %s", v.V.Type().FriendlyName(), instead)
		return 0, false
	}
	f, _ := c.AsBigFloat().Float64()
	return f, true
}

func (m *mapper) integer(i *Instance, v *Val, attr, instead string) (int, bool) {
	f, ok := m.num(i, v, attr, instead)
	if !ok {
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		m.note(v, Inexact, i.Addr+": "+attr, "%v is not a whole number; %s", f, instead)
		return 0, false
	}
	n, acc := big.NewFloat(f).Int64()
	if acc != big.Exact || n > 1<<31 || n < -(1<<31) {
		m.note(v, Inexact, i.Addr+": "+attr, "%v is not a whole number; %s", f, instead)
		return 0, false
	}
	return int(n), true
}

func (m *mapper) boolean(i *Instance, v *Val, attr, instead string) (bool, bool) {
	if !m.known(i, v, attr, instead) {
		return false, false
	}
	c, err := convert.Convert(v.V, cty.Bool)
	if err != nil {
		m.note(v, Inexact, i.Addr+": "+attr, "%s is not true or false; %s", v.V.Type().FriendlyName(), instead)
		return false, false
	}
	return c.True(), true
}

// strs is a list of strings (unknown elements left out and noted).
func (m *mapper) strs(i *Instance, v *Val, attr string) []string {
	if v == nil {
		return nil
	}
	if !v.V.IsKnown() || !v.V.CanIterateElements() {
		m.note(v, Offline, i.Addr+": "+attr, "not known offline")
		return nil
	}
	var out []string
	for it := v.V.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() || e.IsNull() {
			m.note(v, Offline, i.Addr+": "+attr, "an element is not known offline; left out")
			continue
		}
		c, err := convert.Convert(e, cty.String)
		if err != nil {
			m.note(v, Inexact, i.Addr+": "+attr, "an element is a %s, not text; left out", e.Type().FriendlyName())
			continue
		}
		out = append(out, c.AsString())
	}
	return out
}

// ref finds the resource of one of the types a string (an id, ARN or
// name) stands for.
func (m *mapper) ref(s string, types ...string) *Instance {
	for _, i := range m.byRef[s] {
		if slices.Contains(types, canonical(i.Type)) {
			return i
		}
	}
	return nil
}

// setStr, setInt, ... write a field from an argument when it is there and
// known, else the stated default (provenance says which).
func (m *mapper) setStr(field string, i *Instance, b *Body, attr string, def string, defFrom string) (string, bool) {
	v := b.attr(attr)
	if s, ok := m.str(i, v, attr, "taking "+def+" ("+defFrom+")"); ok {
		m.d.set(field, s, m.from(i, v, b.prefix+attr))
		return s, true
	}
	m.d.set(field, def, defFrom)
	return def, false
}

func (m *mapper) setInt(field string, i *Instance, b *Body, attr string, def int, defFrom string) (int, bool) {
	v := b.attr(attr)
	if n, ok := m.integer(i, v, attr, fmt.Sprintf("taking %d (%s)", def, defFrom)); ok {
		m.d.set(field, n, m.from(i, v, b.prefix+attr))
		return n, true
	}
	m.d.set(field, def, defFrom)
	return def, false
}

func (m *mapper) setSecs(field string, i *Instance, b *Body, attr string, def int, defFrom string) (int, bool) {
	v := b.attr(attr)
	if n, ok := m.integer(i, v, attr, fmt.Sprintf("taking %ds (%s)", def, defFrom)); ok {
		m.d.set(field, secs(n), m.from(i, v, b.prefix+attr))
		return n, true
	}
	m.d.set(field, secs(def), defFrom)
	return def, false
}

// hasMarker reports whether a string holds a variable not known offline.
func hasMarker(v cty.Value) bool {
	return v.Type() == cty.String && !v.IsNull() && strings.Contains(v.AsString(), unknownMarker)
}

// markAll marks a body and everything in it read: the resource has been
// noted as a whole.
func markAll(b *Body) {
	for name := range b.Attrs {
		b.mark(name)
	}
	for _, blk := range b.Blocks {
		b.mark(blk.Type)
		markAll(blk.Body)
	}
}

// isStr reports whether v is known, non-null text.
func isStr(v cty.Value) bool {
	return v.IsKnown() && !v.IsNull() && v.Type() == cty.String
}
