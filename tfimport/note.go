package tfimport

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Pos is a place in a source file, 1-based; Line 0 is "the file as a whole".
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

func posOf(r hcl.Range) Pos {
	return Pos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

// Kinds of note.
const (
	// NotModelled is a resource or attribute the rehearsal does not model.
	NotModelled = "not rehearsed"
	// Inexact is a value the lab models but cannot take as it is; the note
	// says what the stack takes instead.
	Inexact = "inexact"
	// Offline is a value that cannot be known without AWS or remote state;
	// the note says the default taken.
	Offline = "offline"
	// Waits is a mapping that waits for a lab feature not yet built.
	Waits = "waits"
)

// Note is one warning of the import, at its place in the configuration.
type Note struct {
	Pos     Pos
	Kind    string
	Subject string // the resource address and attribute, "aws_lb.this: access_logs"
	Msg     string
}

func (n Note) String() string {
	s := n.Pos.String() + ": " + n.Kind + ": "
	if n.Subject != "" {
		s += n.Subject + ": "
	}
	return s + n.Msg
}

// Provenance says where one stack field's value came from.
type Provenance struct {
	Field string // the stack's YAML path, "target_group.health_check.interval"
	From  string // "load_balancer.tf:42 aws_lb_target_group.this health_check.interval", or the default taken
}

// Error is one problem that stops the import, at its place.
type Error struct {
	Pos Pos
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem that stopped the import, in file order.
type Errors struct{ List []Error }

func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// diagErrors turns HCL's error diagnostics into Errors (nil if none).
func diagErrors(diags hcl.Diagnostics) []Error {
	var out []Error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		p := Pos{}
		if d.Subject != nil {
			p = posOf(*d.Subject)
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		out = append(out, Error{Pos: p, Msg: msg})
	}
	return out
}

func sortErrors(list []Error) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Pos, list[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
