package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
	"github.com/simplydone/lab/tfimport"
)

const importUsage = `usage:
  lab import terraform DIR [-var NAME=VALUE]... [-var-file FILE]... [-o stack.yaml]
  lab import cloudformation FILE [-var NAME=VALUE]... [-o stack.yaml]
      read an existing Terraform configuration (no terraform binary, no AWS credentials) or
      CloudFormation template (YAML or JSON; -var sets a parameter) and write the lab's stack,
      a comment on each field saying where its value came from (stdout without -o). What the
      rehearsal does not model, cannot map exactly or cannot know offline is listed on stderr
      with its file:line. lab run and lab plan take the same DIR or FILE with --stack.
`

// stringList is a flag that may be given many times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// importCmd is `lab import terraform|cloudformation ...`.
func importCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		if format != "" {
			fmt.Fprintf(stderr, "lab import: "+format+"\n", a...)
		}
		fmt.Fprint(stderr, importUsage)
		return exitUsage
	}
	if len(args) == 0 {
		return usageErr("")
	}
	format := args[0]
	if format != "terraform" && format != "cloudformation" {
		return usageErr("unknown format %q; use terraform or cloudformation", format)
	}
	fs := flag.NewFlagSet("import "+format, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var vars, varFiles stringList
	fs.Var(&vars, "var", "NAME=VALUE: a variable (terraform) or a parameter (cloudformation); repeatable")
	if format == "terraform" {
		fs.Var(&varFiles, "var-file", "a .tfvars file, read after terraform.tfvars and *.auto.tfvars; repeatable")
	}
	out := fs.String("o", "", "write the stack here (default: stdout)")
	if err := fs.Parse(reorder(fs, args[1:])); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		return usageErr("give one %s", map[string]string{"terraform": "directory", "cloudformation": "template file"}[format])
	}
	o := tfimport.Options{Vars: vars, VarFiles: varFiles}
	var (
		r   *tfimport.Result
		err error
	)
	if format == "terraform" {
		r, err = tfimport.Terraform(fs.Arg(0), o)
	} else {
		r, err = tfimport.CloudFormation(fs.Arg(0), o)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lab import %s: %v\n", format, err)
		return exitUsage
	}
	writeNotes(stderr, r)
	if *out == "" {
		_, _ = stdout.Write(r.YAML)
		return exitOK
	}
	if err := os.WriteFile(*out, r.YAML, 0o644); err != nil {
		fmt.Fprintf(stderr, "lab import: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "Wrote stack %s to %s.\n", r.Stack.Name, *out)
	return exitOK
}

// writeNotes lists what the import could not rehearse as it is, then counts.
func writeNotes(w io.Writer, r *tfimport.Result) {
	counts := map[string]int{}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "%s\n", n)
		counts[n.Kind]++
	}
	fmt.Fprintf(w, "Imported stack %s: %d notes (%d %s, %d %s, %d %s, %d %s).\n", r.Stack.Name, len(r.Notes),
		counts[tfimport.NotModelled], tfimport.NotModelled, counts[tfimport.Inexact], tfimport.Inexact,
		counts[tfimport.Offline], tfimport.Offline, counts[tfimport.Waits], "waiting for issues 15/16")
}

// loadStack is what --stack names: a built-in, a stack file, a Terraform
// directory or a CloudFormation template. An imported stack's notes go to
// stderr first.
func loadStack(spec string, stderr io.Writer) (*stack.Stack, error) {
	s, _, err := importStack(spec, tfimport.Options{}, stderr)
	return s, err
}

// importStack is loadStack with the import's result (nil for a built-in
// or a stack file).
func importStack(spec string, o tfimport.Options, stderr io.Writer) (*stack.Stack, *tfimport.Result, error) {
	if slices.Contains(stack.BuiltinNames(), spec) {
		s, err := stack.Builtin(spec)
		return s, nil, err
	}
	fi, err := os.Stat(spec)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("stack %q: not a built-in (%s), a Terraform directory, a CloudFormation template or a stack file", spec, strings.Join(stack.BuiltinNames(), ", "))
		}
		return nil, nil, err
	}
	var r *tfimport.Result
	switch {
	case fi.IsDir():
		r, err = tfimport.Terraform(spec, o)
	case isTemplate(spec):
		r, err = tfimport.CloudFormation(spec, o)
	default:
		s, err := stack.Load(spec)
		return s, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("import %s: %w", spec, err)
	}
	writeNotes(stderr, r)
	return r.Stack, r, nil
}

// importNotesFile is where a run on an imported stack keeps the import's
// notes, beside stack.yaml (which keeps each field's provenance).
const importNotesFile = "import-notes.txt"

// record writes the import's notes into the run directory, if the stack
// was imported.
func (f *stackFlags) record(runDir string, stderr io.Writer) {
	if f.result == nil {
		return
	}
	var b strings.Builder
	writeNotes(&b, f.result)
	if err := os.WriteFile(filepath.Join(runDir, importNotesFile), []byte(b.String()), 0o644); err != nil {
		fmt.Fprintf(stderr, "lab: keeping the import's notes: %v\n", err)
	}
}

// isTemplate reports whether a file is a CloudFormation template: a
// mapping with Resources (or AWSTemplateFormatVersion) rather than a stack.
func isTemplate(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".template":
		return true
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, res := top["Resources"]
	_, ver := top["AWSTemplateFormatVersion"]
	return res || ver
}

// stackFlags are --stack, --var and --var-file of lab run and lab plan.
type stackFlags struct {
	stack          *string
	vars, varFiles stringList
	result         *tfimport.Result // the import, when --stack was imported
}

func addStackFlags(fs *flag.FlagSet) *stackFlags {
	f := &stackFlags{stack: fs.String("stack", "", "run on this stack instead of the scenario's: a built-in, a stack file, a Terraform directory or a CloudFormation template")}
	fs.Var(&f.vars, "var", "with a Terraform or CloudFormation --stack: NAME=VALUE; repeatable")
	fs.Var(&f.varFiles, "var-file", "with a Terraform --stack: a .tfvars file; repeatable")
	return f
}

// apply puts the --stack stack under the scenario, checking that what the
// scenario names (zones, launch template versions) is in it.
func (f *stackFlags) apply(sc *scenarios.Scenario, st *stack.Stack, stderr io.Writer) (*stack.Stack, bool) {
	if *f.stack == "" {
		if len(f.vars) > 0 || len(f.varFiles) > 0 {
			fmt.Fprintln(stderr, "lab: --var and --var-file go with --stack DIR|FILE")
			return nil, false
		}
		return st, true
	}
	s, r, err := importStack(*f.stack, tfimport.Options{Vars: f.vars, VarFiles: f.varFiles}, stderr)
	f.result = r
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	var bad []string
	for _, a := range sc.Chaos {
		if a.Zone != "" && !slices.Contains(s.Zones, a.Zone) {
			bad = append(bad, fmt.Sprintf("scenario %s: chaos %s names zone %s, which stack %s does not have (%s)", sc.Name, a.Action, a.Zone, s.Name, strings.Join(s.Zones, ", ")))
		}
	}
	for _, a := range sc.Actions {
		if !s.LaunchTemplate.HasVersion(a.Version) {
			bad = append(bad, fmt.Sprintf("scenario %s: %s deploys launch template version %d, which stack %s does not have", sc.Name, a.Action, a.Version, s.Name))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(stderr, strings.Join(bad, "\n"))
		return nil, false
	}
	sc.Stack = *f.stack
	return s, true
}
