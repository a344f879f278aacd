package tfimport

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// maxModuleDepth bounds nested local modules (and a module calling itself).
const maxModuleDepth = 10

// maxInstances bounds count and for_each; maxTotal bounds the resource and
// module instances of a whole configuration (a module calling itself with
// a count would otherwise multiply them).
const (
	maxInstances = 1000
	maxTotal     = 20000
)

// DefaultRegion is the region taken when the provider block names none.
const DefaultRegion = "us-east-1"

// evaluator evaluates one configuration: the root module and the local
// modules it calls.
type evaluator struct {
	root      string
	notes     []Note
	errs      []Error
	instances []*Instance
	region    string
	regionPos hcl.Range
	regionSet bool
	funcs     map[string]function.Function
	modules   map[string]*module
	seq       int
	modSeq    int
	total     int // resource and module instances so far
	// moduleZones are the azs inputs of remote modules
	moduleZones []ModuleZones
}

// ModuleZones is the azs input of a remote module (a VPC module's zones).
type ModuleZones struct {
	Module string
	Zones  []string
	Rng    hcl.Range
}

// spend counts one more instance; past maxTotal the evaluation stops with
// an error at r.
func (e *evaluator) spend(r hcl.Range) bool {
	e.total++
	if e.total == maxTotal+1 {
		e.errorf(r, "more than %d resource and module instances; is a module calling itself with count or for_each?", maxTotal)
	}
	return e.total <= maxTotal
}

// scope is one module instance being evaluated.
type scope struct {
	e       *evaluator
	m       *module
	prefix  string // address prefix, "" or "module.net."
	depth   int
	vars    map[string]cty.Value
	locals  map[string]cty.Value
	res     map[string]map[string]cty.Value
	data    map[string]map[string]cty.Value
	mods    map[string]cty.Value
	outputs map[string]cty.Value
	modSeq  int
}

func newEvaluator(root string) *evaluator {
	e := &evaluator{root: root, region: DefaultRegion, modules: map[string]*module{}}
	e.funcs = functions(root)
	return e
}

func (e *evaluator) note(r hcl.Range, kind, subject, format string, args ...any) {
	e.notes = append(e.notes, Note{Pos: posOf(r), Kind: kind, Subject: subject, Msg: fmt.Sprintf(format, args...)})
}

func (e *evaluator) errorf(r hcl.Range, format string, args ...any) {
	e.errs = append(e.errs, Error{Pos: posOf(r), Msg: fmt.Sprintf(format, args...)})
}

// evalModule evaluates module m with its input variables set.
func (e *evaluator) evalModule(m *module, prefix string, vars map[string]cty.Value, depth int) *scope {
	e.modSeq++
	s := &scope{e: e, m: m, prefix: prefix, depth: depth, vars: vars, locals: map[string]cty.Value{},
		res: map[string]map[string]cty.Value{}, data: map[string]map[string]cty.Value{},
		mods: map[string]cty.Value{}, outputs: map[string]cty.Value{}, modSeq: e.modSeq}
	order, ok := s.sort()
	if !ok {
		return s
	}
	for _, key := range order {
		s.evalNode(key)
	}
	return s
}

// ctx is the evaluation context of the module as evaluated so far.
func (s *scope) ctx() *hcl.EvalContext {
	byType := func(m map[string]map[string]cty.Value) map[string]cty.Value {
		out := map[string]cty.Value{}
		for t, names := range m {
			out[t] = cty.ObjectVal(names)
		}
		return out
	}
	vars := map[string]cty.Value{
		"var":    cty.ObjectVal(s.vars),
		"local":  cty.ObjectVal(s.locals),
		"module": cty.ObjectVal(s.mods),
		"data":   cty.ObjectVal(byType(s.data)),
		"path": cty.ObjectVal(map[string]cty.Value{
			"module": cty.StringVal(s.modulePath()), "root": cty.StringVal("."), "cwd": cty.StringVal(s.e.root)}),
		"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")}),
	}
	for t, v := range byType(s.res) {
		vars[t] = v
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.e.funcs}
}

// modulePath is path.module as Terraform gives it: relative to the root
// module's directory, where file paths are resolved.
func (s *scope) modulePath() string {
	if r, err := filepath.Rel(s.e.root, s.m.dir); err == nil {
		return r
	}
	return s.m.dir
}

// value evaluates an expression. Errors stop the import, except an
// attribute of a resource that only AWS computes (not known offline).
func (e *evaluator) value(expr hcl.Expression, ctx *hcl.EvalContext, subject string) cty.Value {
	v, diags := expr.Value(ctx)
	bad := false
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		bad = true
		r := expr.Range()
		if d.Subject != nil {
			r = *d.Subject
		}
		if d.Summary == "Unsupported attribute" && !moduleOrVar(d.Expression) {
			e.note(r, Offline, subject, "%s; AWS computes it, so it is not known offline", strings.TrimSuffix(d.Detail, "."))
			continue
		}
		e.errorf(r, "%s: %s", subject, strings.TrimSpace(d.Summary+": "+d.Detail))
	}
	if bad {
		return cty.DynamicVal
	}
	return v
}

// moduleOrVar reports whether an expression starts at var., local. or
// module.: a missing attribute there is a mistake, not a computed value.
func moduleOrVar(expr hcl.Expression) bool {
	for expr != nil {
		switch x := expr.(type) {
		case *hclsyntax.ScopeTraversalExpr:
			r := x.Traversal.RootName()
			return r == "var" || r == "local" || r == "module"
		case *hclsyntax.RelativeTraversalExpr:
			expr = x.Source
		case *hclsyntax.IndexExpr:
			expr = x.Collection
		case *hclsyntax.SplatExpr:
			expr = x.Source
		default:
			return false
		}
	}
	return false
}

// sort orders the module's nodes so each comes after what it refers to,
// and reports undeclared references and cycles.
func (s *scope) sort() ([]string, bool) {
	deps := map[string][]string{}
	where := map[string]hcl.Range{}
	okAll := true
	for _, key := range s.m.order {
		refs, r := s.refs(key)
		where[key] = r
		for _, t := range refs {
			dep, ok := s.refKey(t)
			if !ok {
				okAll = false
				continue
			}
			if dep != "" {
				deps[key] = append(deps[key], dep)
			}
		}
		if strings.HasPrefix(key, "data.") && s.hasNode("provider.aws") {
			deps[key] = append(deps[key], "provider.aws")
		}
	}
	if !okAll {
		return nil, false
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var out, stack []string
	reported := map[string]bool{}
	var visit func(k string)
	visit = func(k string) {
		switch color[k] {
		case black:
			return
		case grey:
			i := len(stack) - 1
			for i > 0 && stack[i] != k {
				i--
			}
			cycle := append(append([]string{}, stack[i:]...), k)
			id := strings.Join(cycle, " ")
			if !reported[id] {
				reported[id] = true
				okAll = false
				var parts []string
				for _, c := range cycle {
					parts = append(parts, s.prefix+c+" ("+posOf(where[c]).String()+")")
				}
				s.e.errorf(where[k], "cycle: %s; each refers to the next", strings.Join(parts, " → "))
			}
			return
		}
		color[k] = grey
		stack = append(stack, k)
		for _, d := range deps[k] {
			visit(d)
		}
		stack = stack[:len(stack)-1]
		color[k] = black
		out = append(out, k)
	}
	for _, k := range s.m.order {
		visit(k)
	}
	return out, okAll
}

func (s *scope) hasNode(key string) bool {
	for _, k := range s.m.order {
		if k == key {
			return true
		}
	}
	return false
}

// refs are the references a node's expressions make, and where it is.
func (s *scope) refs(key string) ([]hcl.Traversal, hcl.Range) {
	kind, name, _ := strings.Cut(key, ".")
	switch kind {
	case "local":
		a := s.m.locals[name]
		return a.Expr.Variables(), a.SrcRange
	case "output":
		a := s.m.outputs[name]
		return a.Expr.Variables(), a.SrcRange
	case "module":
		b := s.m.calls[name]
		return bodyRefs(b.Body, nil), b.DefRange()
	case "provider":
		for _, b := range s.m.providers {
			if b.Labels[0] == name {
				return bodyRefs(b.Body, nil), b.DefRange()
			}
		}
	}
	for _, d := range s.m.resources {
		if d.key == key {
			return bodyRefs(d.block.Body, nil), d.block.DefRange()
		}
	}
	return nil, hcl.Range{}
}

// bodyRefs collects the references of every expression in a body, leaving
// out the iterator of a dynamic block inside its content.
func bodyRefs(b *hclsyntax.Body, iterators map[string]bool) []hcl.Traversal {
	var out []hcl.Traversal
	keep := func(ts []hcl.Traversal) {
		for _, t := range ts {
			if !iterators[t.RootName()] {
				out = append(out, t)
			}
		}
	}
	for _, a := range b.Attributes {
		keep(a.Expr.Variables())
	}
	for _, blk := range b.Blocks {
		if blk.Type == "lifecycle" || blk.Type == "provisioner" || blk.Type == "connection" {
			continue // Terraform's own: ignore_changes names attributes, not values
		}
		if blk.Type == "dynamic" && len(blk.Labels) == 1 {
			it := blk.Labels[0]
			if a, ok := blk.Body.Attributes["iterator"]; ok {
				it = hcl.ExprAsKeyword(a.Expr)
			}
			inner := map[string]bool{it: true}
			for k := range iterators {
				inner[k] = true
			}
			for name, a := range blk.Body.Attributes {
				if name != "iterator" {
					keep(a.Expr.Variables())
				}
			}
			for _, c := range blk.Body.Blocks {
				out = append(out, bodyRefs(c.Body, inner)...)
			}
			continue
		}
		out = append(out, bodyRefs(blk.Body, iterators)...)
	}
	return out
}

// refKey is the node a reference names ("" for var., count., each., path.
// and terraform.), or false when it names nothing declared.
func (s *scope) refKey(t hcl.Traversal) (string, bool) {
	root := t.RootName()
	attr := func(i int) string {
		if len(t) > i {
			if a, ok := t[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	undeclared := func(what, name string, candidates []string) (string, bool) {
		msg := fmt.Sprintf("reference to undeclared %s %s", what, name)
		if c := yamlcheck.Closest(name, candidates); c != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", c)
		}
		s.e.errorf(t.SourceRange(), "%s", msg)
		return "", false
	}
	switch root {
	case "count", "each", "path", "terraform", "self":
		return "", true
	case "var":
		n := attr(1)
		if _, ok := s.vars[n]; !ok {
			return undeclared("input variable", "var."+n, prefixed("var.", keysOf(s.vars)))
		}
		return "", true
	case "local", "module":
		k := root + "." + attr(1)
		if !s.hasNode(k) {
			return undeclared(map[string]string{"local": "local value", "module": "module"}[root], k, s.nodeKeys(root+"."))
		}
		return k, true
	case "data":
		k := "data." + attr(1) + "." + attr(2)
		if !s.hasNode(k) {
			return undeclared("data source", k, s.nodeKeys("data."))
		}
		return k, true
	}
	k := root + "." + attr(1)
	if !s.hasNode(k) {
		var res []string
		for _, d := range s.m.resources {
			if d.mode == "resource" {
				res = append(res, d.key)
			}
		}
		return undeclared("resource", k, res)
	}
	return k, true
}

func (s *scope) nodeKeys(prefix string) []string {
	var out []string
	for _, k := range s.m.order {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func keysOf(m map[string]cty.Value) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// evalNode evaluates one local, resource, data source, module call, output
// or provider.
func (s *scope) evalNode(key string) {
	kind, name, _ := strings.Cut(key, ".")
	switch kind {
	case "local":
		s.locals[name] = s.e.value(s.m.locals[name].Expr, s.ctx(), "local."+name)
		return
	case "output":
		s.outputs[name] = s.e.value(s.m.outputs[name].Expr, s.ctx(), s.prefix+"output."+name)
		return
	case "module":
		s.evalCall(name, s.m.calls[name])
		return
	case "provider":
		s.evalProvider()
		return
	}
	for _, d := range s.m.resources {
		if d.key == key {
			s.evalDecl(d)
		}
	}
}

// evalProvider reads the region of the default aws provider of the root
// module.
func (s *scope) evalProvider() {
	for _, b := range s.m.providers {
		if b.Labels[0] != "aws" || b.Body.Attributes["alias"] != nil {
			continue
		}
		a, ok := b.Body.Attributes["region"]
		if !ok || s.prefix != "" {
			continue
		}
		v := s.e.value(a.Expr, s.ctx(), "provider.aws.region")
		if isStr(v) {
			s.e.region, s.e.regionPos, s.e.regionSet = v.AsString(), a.SrcRange, true
		} else {
			s.e.note(a.SrcRange, Offline, "provider.aws: region", "not known offline; %s taken", DefaultRegion)
		}
	}
}

// meta are the arguments of a resource block that are Terraform's own.
var meta = map[string]bool{"count": true, "for_each": true, "depends_on": true, "provider": true}

// evalDecl evaluates every instance of a resource or data block.
func (s *scope) evalDecl(d *decl) {
	ctx := s.ctx()
	b := d.block.Body
	subject := s.prefix + d.key
	var val cty.Value
	switch {
	case b.Attributes["count"] != nil:
		a := b.Attributes["count"]
		n := 1
		cv := s.e.value(a.Expr, ctx, subject+": count")
		switch {
		case !cv.IsKnown() || cv.IsNull():
			s.e.note(a.SrcRange, Offline, subject+": count", "not known offline; one instance taken")
		case cv.Type() != cty.Number:
			if c, err := convert.Convert(cv, cty.Number); err == nil {
				cv = c
			} else {
				s.e.errorf(a.SrcRange, "%s: count is %s; give a whole number", subject, cv.Type().FriendlyName())
				return
			}
			fallthrough
		default:
			bf := cv.AsBigFloat()
			i, acc := bf.Int64()
			if acc != big.Exact || i < 0 || i > maxInstances {
				s.e.errorf(a.SrcRange, "%s: count is %s; give a whole number from 0 to %d", subject, bf.String(), maxInstances)
				return
			}
			n = int(i)
		}
		var list []cty.Value
		for i := 0; i < n; i++ {
			c := ctx.NewChild()
			c.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
			list = append(list, s.instance(d, cty.NumberIntVal(int64(i)), c))
		}
		val = cty.TupleVal(list)
		if len(list) == 0 {
			val = cty.EmptyTupleVal
		}
	case b.Attributes["for_each"] != nil:
		a := b.Attributes["for_each"]
		fv := s.e.value(a.Expr, ctx, subject+": for_each")
		objs := map[string]cty.Value{}
		switch {
		case !forEachKnown(fv):
			s.e.note(a.SrcRange, Offline, subject+": for_each", "not known offline; no instance taken")
		case !(fv.Type().IsMapType() || fv.Type().IsObjectType() || fv.Type().IsSetType()):
			s.e.errorf(a.SrcRange, "%s: for_each is a %s; it takes a map or a set of strings (wrap a list in toset())", subject, fv.Type().FriendlyName())
			return
		case fv.LengthInt() > maxInstances:
			s.e.errorf(a.SrcRange, "%s: for_each has %d elements; at most %d are imported", subject, fv.LengthInt(), maxInstances)
			return
		default:
			for it := fv.ElementIterator(); it.Next(); {
				k, v := it.Element()
				if fv.Type().IsSetType() {
					if !isStr(v) {
						s.e.errorf(a.SrcRange, "%s: for_each is a set of %s; a set must hold strings", subject, v.Type().FriendlyName())
						return
					}
					k = v
				}
				c := ctx.NewChild()
				c.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})}
				objs[k.AsString()] = s.instance(d, k, c)
			}
		}
		val = cty.ObjectVal(objs)
	default:
		val = s.instance(d, cty.NilVal, ctx)
	}
	target := s.res
	if d.mode == "data" {
		target = s.data
	}
	if target[d.typ] == nil {
		target[d.typ] = map[string]cty.Value{}
	}
	target[d.typ][d.name] = val
}

// instance evaluates one instance and records it.
func (s *scope) instance(d *decl, key cty.Value, ctx *hcl.EvalContext) cty.Value {
	if !s.e.spend(d.block.DefRange()) {
		return cty.DynamicVal
	}
	addr := s.prefix + d.key
	switch {
	case key == cty.NilVal:
	case key.Type() == cty.String:
		addr += fmt.Sprintf("[%q]", key.AsString())
	default:
		addr += "[" + key.AsBigFloat().String() + "]"
	}
	body := s.e.evalBody(d.block.Body, ctx, meta, addr, "")
	s.e.seq++
	inst := &Instance{Mode: d.mode, Type: d.typ, Name: d.name, Addr: addr, Key: key, Body: body, Decl: d.block.DefRange(), seq: s.e.seq, moduleSeq: s.modSeq}
	inst.Value = s.e.computed(inst)
	s.e.instances = append(s.e.instances, inst)
	return inst.Value
}

// evalBody evaluates a block body: arguments, nested blocks, dynamic blocks
// expanded. lifecycle, provisioner and connection blocks are Terraform's
// own and left out.
func (e *evaluator) evalBody(b *hclsyntax.Body, ctx *hcl.EvalContext, skip map[string]bool, subject, prefix string) *Body {
	out := &Body{Attrs: map[string]*Val{}, Rng: b.SrcRange, prefix: prefix}
	for name, a := range b.Attributes {
		if skip[name] {
			continue
		}
		out.Attrs[name] = &Val{V: e.value(a.Expr, ctx, subject+": "+name), Rng: a.SrcRange}
	}
	for _, blk := range b.Blocks {
		switch blk.Type {
		case "lifecycle", "provisioner", "connection":
			continue
		case "dynamic":
			out.Blocks = append(out.Blocks, e.dynamic(blk, ctx, subject, prefix)...)
			continue
		}
		out.Blocks = append(out.Blocks, &Block{Type: blk.Type, Body: e.evalBody(blk.Body, ctx, nil, subject+": "+blk.Type, prefix+blk.Type+"."), Rng: blk.DefRange()})
	}
	return out
}

// dynamic expands a dynamic block into one block per element of its for_each.
func (e *evaluator) dynamic(blk *hclsyntax.Block, ctx *hcl.EvalContext, subject, prefix string) []*Block {
	if len(blk.Labels) != 1 {
		e.errorf(blk.DefRange(), "%s: a dynamic block takes one label, the type of the blocks it makes", subject)
		return nil
	}
	typ := blk.Labels[0]
	sub := subject + ": dynamic " + typ
	fe, ok := blk.Body.Attributes["for_each"]
	if !ok {
		e.errorf(blk.DefRange(), "%s: for_each is required", sub)
		return nil
	}
	it := typ
	if a, ok := blk.Body.Attributes["iterator"]; ok {
		if it = hcl.ExprAsKeyword(a.Expr); it == "" {
			e.errorf(a.SrcRange, "%s: iterator must be a name", sub)
			return nil
		}
	}
	var content *hclsyntax.Block
	for _, c := range blk.Body.Blocks {
		if c.Type == "content" {
			content = c
		}
	}
	if content == nil {
		e.errorf(blk.DefRange(), "%s: a content block is required", sub)
		return nil
	}
	v := e.value(fe.Expr, ctx, sub+": for_each")
	if !forEachKnown(v) {
		e.note(fe.SrcRange, Offline, sub, "for_each is not known offline; no %s block taken", typ)
		return nil
	}
	if !v.CanIterateElements() {
		e.errorf(fe.SrcRange, "%s: for_each is a %s; it takes a collection", sub, v.Type().FriendlyName())
		return nil
	}
	var out []*Block
	for i := v.ElementIterator(); i.Next(); {
		k, val := i.Element()
		c := ctx.NewChild()
		c.Variables = map[string]cty.Value{it: cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}
		out = append(out, &Block{Type: typ, Body: e.evalBody(content.Body, c, nil, sub, prefix+typ+"."), Rng: blk.DefRange()})
	}
	return out
}

// evalCall evaluates a module call: a local module is read and evaluated
// with its inputs; a remote one cannot be fetched offline.
func (s *scope) evalCall(name string, b *hclsyntax.Block) {
	subject := s.prefix + "module." + name
	ctx := s.ctx()
	srcA, ok := b.Body.Attributes["source"]
	if !ok {
		s.e.errorf(b.DefRange(), "%s: source is required", subject)
		return
	}
	src := s.e.value(srcA.Expr, ctx, subject+": source")
	if !src.IsKnown() || src.IsNull() || src.Type() != cty.String {
		s.e.errorf(srcA.SrcRange, "%s: source must be a literal string", subject)
		return
	}
	path := src.AsString()
	if !strings.HasPrefix(path, "./") && !strings.HasPrefix(path, "../") {
		s.e.note(srcA.SrcRange, Offline, subject, "module %q is not local: it is not fetched offline, so its resources are not imported and its outputs are unknown (vendor it under ./modules to import it)", path)
		s.mods[name] = cty.DynamicVal
		// a VPC module is usually told its zones: keep them for the mapping
		if a, ok := b.Body.Attributes["azs"]; ok {
			if v := s.e.value(a.Expr, ctx, subject+": azs"); v.IsWhollyKnown() && !v.IsNull() && v.CanIterateElements() {
				var zs []string
				for it := v.ElementIterator(); it.Next(); {
					if _, z := it.Element(); isStr(z) {
						zs = append(zs, z.AsString())
					}
				}
				if len(zs) > 0 {
					s.e.moduleZones = append(s.e.moduleZones, ModuleZones{Module: subject, Zones: zs, Rng: a.SrcRange})
				}
			}
		}
		return
	}
	if s.depth >= maxModuleDepth {
		s.e.errorf(srcA.SrcRange, "%s: modules nest more than %d deep (does a module call itself?)", subject, maxModuleDepth)
		return
	}
	dir := filepath.Join(s.m.dir, path)
	m, ok := s.e.modules[dir]
	if !ok {
		var errs []Error
		m, errs = loadModule(dir, &s.e.notes)
		s.e.errs = append(s.e.errs, errs...)
		s.e.modules[dir] = m
		if m == nil {
			return
		}
	}
	if m == nil {
		return
	}
	one := func(key cty.Value, c *hcl.EvalContext) cty.Value {
		if !s.e.spend(b.DefRange()) {
			return cty.DynamicVal
		}
		p := s.prefix + "module." + name
		switch {
		case key == cty.NilVal:
		case key.Type() == cty.String:
			p += fmt.Sprintf("[%q]", key.AsString())
		default:
			p += "[" + key.AsBigFloat().String() + "]"
		}
		given := map[string]cty.Value{}
		for an, a := range b.Body.Attributes {
			switch an {
			case "source", "version", "count", "for_each", "providers", "depends_on":
				continue
			}
			if _, ok := m.variables[an]; !ok {
				s.e.errorf(a.SrcRange, "%s: the module at %s has no variable %q", subject, dir, an)
				continue
			}
			given[an] = s.e.value(a.Expr, c, subject+": "+an)
		}
		vars := s.e.moduleVars(m, given, b.DefRange(), subject)
		child := s.e.evalModule(m, p+".", vars, s.depth+1)
		return cty.ObjectVal(child.outputs)
	}
	switch {
	case b.Body.Attributes["count"] != nil:
		cv := s.e.value(b.Body.Attributes["count"].Expr, ctx, subject+": count")
		n := 1
		if cv.IsKnown() && !cv.IsNull() && cv.Type() == cty.Number {
			if i, acc := cv.AsBigFloat().Int64(); acc == big.Exact && i >= 0 && i <= maxInstances {
				n = int(i)
			}
		} else {
			s.e.note(b.Body.Attributes["count"].SrcRange, Offline, subject+": count", "not known offline; one instance taken")
		}
		var list []cty.Value
		for i := 0; i < n; i++ {
			c := ctx.NewChild()
			c.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
			list = append(list, one(cty.NumberIntVal(int64(i)), c))
		}
		s.mods[name] = cty.TupleVal(list)
		if n == 0 {
			s.mods[name] = cty.EmptyTupleVal
		}
	case b.Body.Attributes["for_each"] != nil:
		fv := s.e.value(b.Body.Attributes["for_each"].Expr, ctx, subject+": for_each")
		objs := map[string]cty.Value{}
		if forEachKnown(fv) && (fv.Type().IsMapType() || fv.Type().IsObjectType() || fv.Type().IsSetType()) {
			for it := fv.ElementIterator(); it.Next(); {
				k, v := it.Element()
				if fv.Type().IsSetType() {
					k = v
				}
				if !isStr(k) {
					continue
				}
				c := ctx.NewChild()
				c.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})}
				objs[k.AsString()] = one(k, c)
			}
		} else {
			s.e.note(b.Body.Attributes["for_each"].SrcRange, Offline, subject+": for_each", "not known offline, or not a map or set; no instance taken")
		}
		s.mods[name] = cty.ObjectVal(objs)
	default:
		s.mods[name] = one(cty.NilVal, ctx)
	}
}

// variableType is a variable's declared type (any when none).
func (e *evaluator) variableType(b *hclsyntax.Block) cty.Type {
	a, ok := b.Body.Attributes["type"]
	if !ok {
		return cty.DynamicPseudoType
	}
	t, diags := typeexpr.TypeConstraint(a.Expr)
	if diags.HasErrors() {
		e.errs = append(e.errs, diagErrors(diags)...)
		return cty.DynamicPseudoType
	}
	return t
}

// moduleVars are a module's variables: what was given, else the default;
// a variable with neither is unknown (and noted).
func (e *evaluator) moduleVars(m *module, given map[string]cty.Value, at hcl.Range, subject string) map[string]cty.Value {
	vars := map[string]cty.Value{}
	names := make([]string, 0, len(m.variables))
	for n := range m.variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := m.variables[n]
		t := e.variableType(b)
		v, ok := given[n]
		if !ok {
			if d, has := b.Body.Attributes["default"]; has {
				v = e.value(d.Expr, nil, "var."+n+": default")
			} else {
				e.note(at, Offline, subject, "variable %q has no default and no value was given (-var %s=... or a .tfvars file); taken as unknown, so what depends on it takes a stated default", n, n)
				v = cty.UnknownVal(t)
				if t == cty.String || t == cty.DynamicPseudoType {
					// text stays text, so a script it is part of can still be read
					v = cty.StringVal(unknownMarker)
				}
			}
		}
		if t != cty.DynamicPseudoType && !v.IsNull() {
			c, err := convert.Convert(v, t)
			if err != nil {
				e.errorf(b.DefRange(), "variable %q: the value given is not a %s: %v", n, t.FriendlyName(), err)
				c = cty.UnknownVal(t)
			}
			v = c
		}
		vars[n] = v
	}
	return vars
}

// readFile reads a file of the configuration (tfvars, templates).
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes; at most %d are read", path, fi.Size(), maxFileSize)
	}
	return os.ReadFile(path)
}

// forEachKnown reports whether a for_each value's keys are known: its
// elements may be unknown (an ID AWS computes), its keys may not.
func forEachKnown(v cty.Value) bool {
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	if v.Type().IsSetType() {
		return v.IsWhollyKnown()
	}
	return true
}
