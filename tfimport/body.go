package tfimport

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Val is one evaluated argument and where it was written.
type Val struct {
	V   cty.Value
	Rng hcl.Range
}

// Body is an evaluated block body: its arguments and nested blocks (dynamic
// blocks expanded). The mapping marks what it reads; what is left unread is
// listed as not rehearsed.
type Body struct {
	Attrs  map[string]*Val
	Blocks []*Block
	Rng    hcl.Range
	read   map[string]bool
	prefix string // the nested blocks it is in, "health_check.", for provenance
}

// Block is one nested block.
type Block struct {
	Type string
	Body *Body
	Rng  hcl.Range
}

// Instance is one instance of a resource or data block: count and for_each
// make several.
type Instance struct {
	Mode      string // "resource" or "data"
	Type      string
	Name      string
	Addr      string    // "module.net.aws_subnet.private[\"us-east-1a\"]"
	Key       cty.Value // cty.NilVal, a number (count) or a string (for_each)
	Body      *Body
	Decl      hcl.Range
	Value     cty.Value // what references to it see
	seq       int
	moduleSeq int
}

// Pos is where the instance's block starts.
func (i *Instance) Pos() Pos { return posOf(i.Decl) }

// blocks are the nested blocks of a type, marked read.
func (b *Body) blocks(typ string) []*Block {
	if b == nil {
		return nil
	}
	b.mark(typ)
	var out []*Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

// block is the first nested block of a type, or nil.
func (b *Body) block(typ string) *Body {
	if bl := b.blocks(typ); len(bl) > 0 {
		return bl[0].Body
	}
	return nil
}

// attr is an argument, marked read; nil when absent or null.
func (b *Body) attr(name string) *Val {
	if b == nil {
		return nil
	}
	b.mark(name)
	v := b.Attrs[name]
	if v == nil || v.V.IsNull() {
		return nil
	}
	return v
}

func (b *Body) mark(name string) {
	if b.read == nil {
		b.read = map[string]bool{}
	}
	b.read[name] = true
}

// unread lists, sorted, the arguments and block types the mapping did not
// read, with where each was written.
func (b *Body) unread() []struct {
	Name string
	Rng  hcl.Range
} {
	var out []struct {
		Name string
		Rng  hcl.Range
	}
	seen := map[string]bool{}
	for name, v := range b.Attrs {
		if !b.read[name] {
			out = append(out, struct {
				Name string
				Rng  hcl.Range
			}{name, v.Rng})
		}
	}
	for _, blk := range b.Blocks {
		if !b.read[blk.Type] && !seen[blk.Type] {
			seen[blk.Type] = true
			out = append(out, struct {
				Name string
				Rng  hcl.Range
			}{blk.Type, blk.Rng})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rng.Start.Byte < out[j].Rng.Start.Byte })
	return out
}

// object is the body as Terraform's references see it: arguments as they
// are, nested blocks as lists of objects.
func (b *Body) object() map[string]cty.Value {
	m := map[string]cty.Value{}
	for name, v := range b.Attrs {
		m[name] = v.V
	}
	groups := map[string][]cty.Value{}
	var order []string
	for _, blk := range b.Blocks {
		if _, ok := groups[blk.Type]; !ok {
			order = append(order, blk.Type)
		}
		groups[blk.Type] = append(groups[blk.Type], cty.ObjectVal(blk.Body.object()))
	}
	for _, t := range order {
		if _, clash := m[t]; !clash {
			m[t] = cty.TupleVal(groups[t])
		}
	}
	return m
}
