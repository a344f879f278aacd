package tfimport

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// module is one directory of .tf files, parsed, not yet evaluated.
type module struct {
	dir       string
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	resources []*decl // resource and data blocks, in file order
	calls     map[string]*hclsyntax.Block
	outputs   map[string]*hclsyntax.Attribute
	providers []*hclsyntax.Block
	order     []string // node keys in file order, for stable evaluation
}

// decl is one resource or data block.
type decl struct {
	mode       string // "resource" or "data"
	typ, name  string
	block      *hclsyntax.Block
	key        string // graph key: "aws_lb.this" or "data.aws_ami.al2023"
	dependsOnP bool   // depends on the provider (data sources that read the region)
}

// maxFiles and maxFileSize bound what one configuration may hold.
const (
	maxFiles    = 500
	maxFileSize = 4 << 20
)

// loadModule parses every *.tf file of dir. *.tf.json files are noted, not
// read.
func loadModule(dir string, notes *[]Note) (*module, []Error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []Error{{Pos: Pos{File: dir}, Msg: fmt.Sprintf("read the configuration: %v", err)}}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".tf.json"):
			*notes = append(*notes, Note{Pos: Pos{File: filepath.Join(dir, n)}, Kind: NotModelled, Msg: "JSON configuration files are not read; write it as .tf"})
		case strings.HasSuffix(n, ".tf") && !strings.HasSuffix(n, "_override.tf") && n != "override.tf":
			names = append(names, n)
		case strings.HasSuffix(n, "_override.tf") || n == "override.tf":
			*notes = append(*notes, Note{Pos: Pos{File: filepath.Join(dir, n)}, Kind: NotModelled, Msg: "override files are not merged; fold the override into the resource"})
		}
	}
	sort.Strings(names)
	if len(names) > maxFiles {
		return nil, []Error{{Pos: Pos{File: dir}, Msg: fmt.Sprintf("%d .tf files; at most %d are read", len(names), maxFiles)}}
	}
	m := &module{dir: dir, variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		calls: map[string]*hclsyntax.Block{}, outputs: map[string]*hclsyntax.Attribute{}}
	var errs []Error
	seen := map[string]hcl.Range{}
	dup := func(key string, r hcl.Range) bool {
		if first, ok := seen[key]; ok {
			errs = append(errs, Error{Pos: posOf(r), Msg: fmt.Sprintf("%s is declared twice (first at %s)", key, posOf(first))})
			return true
		}
		seen[key] = r
		return false
	}
	for _, n := range names {
		path := filepath.Join(dir, n)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, Error{Pos: Pos{File: path}, Msg: err.Error()})
			continue
		}
		if len(data) > maxFileSize {
			errs = append(errs, Error{Pos: Pos{File: path}, Msg: fmt.Sprintf("%d bytes; at most %d are read", len(data), maxFileSize)})
			continue
		}
		f, diags := hclsyntax.ParseConfig(data, path, hcl.Pos{Line: 1, Column: 1})
		if diags.HasErrors() {
			errs = append(errs, diagErrors(diags)...)
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		for name, a := range body.Attributes {
			errs = append(errs, Error{Pos: posOf(a.SrcRange), Msg: fmt.Sprintf("an argument %q is not expected here; a configuration file holds blocks (resource, variable, locals, ...)", name)})
		}
		for _, b := range body.Blocks {
			errs = append(errs, m.add(b, dup)...)
		}
	}
	return m, errs
}

// add files one top-level block.
func (m *module) add(b *hclsyntax.Block, dup func(string, hcl.Range) bool) []Error {
	need := func(n int, what string) []Error {
		if len(b.Labels) != n {
			return []Error{{Pos: posOf(b.DefRange()), Msg: fmt.Sprintf("a %s block takes %d label(s) (%s), got %d", b.Type, n, what, len(b.Labels))}}
		}
		return nil
	}
	switch b.Type {
	case "variable":
		if e := need(1, "the variable's name"); e != nil {
			return e
		}
		if !dup("var."+b.Labels[0], b.DefRange()) {
			m.variables[b.Labels[0]] = b
		}
	case "locals":
		for name, a := range b.Body.Attributes {
			if !dup("local."+name, a.SrcRange) {
				m.locals[name] = a
			}
		}
		names := make([]string, 0, len(b.Body.Attributes))
		for name := range b.Body.Attributes {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool {
			return b.Body.Attributes[names[i]].SrcRange.Start.Byte < b.Body.Attributes[names[j]].SrcRange.Start.Byte
		})
		for _, n := range names {
			m.order = append(m.order, "local."+n)
		}
	case "resource", "data":
		if e := need(2, "type and name"); e != nil {
			return e
		}
		d := &decl{mode: b.Type, typ: b.Labels[0], name: b.Labels[1], block: b, key: b.Labels[0] + "." + b.Labels[1]}
		if b.Type == "data" {
			d.key = "data." + d.key
			d.dependsOnP = true
		}
		if !dup(d.key, b.DefRange()) {
			m.resources = append(m.resources, d)
			m.order = append(m.order, d.key)
		}
	case "module":
		if e := need(1, "the module's name"); e != nil {
			return e
		}
		if !dup("module."+b.Labels[0], b.DefRange()) {
			m.calls[b.Labels[0]] = b
			m.order = append(m.order, "module."+b.Labels[0])
		}
	case "output":
		if e := need(1, "the output's name"); e != nil {
			return e
		}
		if a, ok := b.Body.Attributes["value"]; ok && !dup("output."+b.Labels[0], b.DefRange()) {
			m.outputs[b.Labels[0]] = a
			m.order = append(m.order, "output."+b.Labels[0])
		}
	case "provider":
		if e := need(1, "the provider's name"); e != nil {
			return e
		}
		m.providers = append(m.providers, b)
		if b.Labels[0] == "aws" && b.Body.Attributes["alias"] == nil && !dup("provider.aws", b.DefRange()) {
			m.order = append(m.order, "provider.aws")
		}
	case "terraform", "moved", "import", "check", "removed":
		// Terraform's own settings and state moves: nothing to rehearse.
	default:
		return []Error{{Pos: posOf(b.DefRange()), Msg: fmt.Sprintf("unsupported block type %q; a configuration holds resource, data, variable, locals, module, output, provider and terraform blocks", b.Type)}}
	}
	return nil
}
