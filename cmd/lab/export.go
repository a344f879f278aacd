package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/simplydone/lab/export"
	"github.com/simplydone/lab/stack"
)

const exportUsage = `usage:
  lab export terraform      (--stack NAME|FILE | --from-run RUN_DIR [--force]) -o DIR  [--single-nat]
  lab export cloudformation (--stack NAME|FILE | --from-run RUN_DIR [--force]) -o FILE [--single-nat]
      write the stack for AWS: a Terraform module in DIR, or a CloudFormation template
      (-o - writes the template to stdout). --from-run exports the stack as that run
      rehearsed it and refuses a run whose verdict is not PASS unless --force.
      --single-nat: one NAT gateway for all zones instead of one per zone (an export
      option; the stack has no such field). Built-in stacks: %s
`

// exportCmd is `lab export terraform|cloudformation ...`.
func exportCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		if format != "" {
			fmt.Fprintf(stderr, "lab export: "+format+"\n", a...)
		}
		fmt.Fprintf(stderr, exportUsage, strings.Join(stack.BuiltinNames(), ", "))
		return exitUsage
	}
	if len(args) == 0 {
		return usageErr("")
	}
	format := export.Format(args[0])
	if format != export.FormatTerraform && format != export.FormatCloudFormation {
		return usageErr("unknown format %q; use terraform or cloudformation", args[0])
	}
	fs := flag.NewFlagSet("export "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackArg := fs.String("stack", "", "built-in stack name or stack file")
	fromRun := fs.String("from-run", "", "run directory: export the stack as that run rehearsed it")
	force := fs.Bool("force", false, "with --from-run: export even if the run's verdict is not PASS")
	out := fs.String("o", "", "output: a directory (terraform) or a file, - for stdout (cloudformation)")
	singleNAT := fs.Bool("single-nat", false, "one NAT gateway for all zones instead of one per zone")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case (*stackArg == "") == (*fromRun == ""):
		return usageErr("give one of --stack or --from-run")
	case *out == "":
		return usageErr("give -o: where to write")
	case *out == "-" && format == export.FormatTerraform:
		return usageErr("terraform writes a module of several files; -o must be a directory")
	}

	opts := export.Options{SingleNAT: *singleNAT}
	var s *stack.Stack
	var err error
	if *fromRun != "" {
		var run *export.Run
		s, run, err = export.LoadRun(*fromRun)
		if err == nil && run.Verdict != "PASS" && !*force {
			fmt.Fprintf(stderr, "lab export: run %s ended %s, not PASS; fix the stack and rehearse again, or give --force\n", run.ID, run.Verdict)
			return exitFailed
		}
		opts.Run = run
	} else {
		s, err = stack.Resolve(*stackArg)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}

	switch format {
	case export.FormatTerraform:
		files, err := export.Terraform(s, opts)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		if err := writeModule(*out, files); err != nil {
			fmt.Fprintf(stderr, "lab export: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "Wrote the Terraform module for stack %s to %s (%d files).\n", s.Name, *out, len(files))
	default:
		tmpl, err := export.CloudFormation(s, opts)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		if *out == "-" {
			_, err = stdout.Write(tmpl)
		} else {
			err = os.WriteFile(*out, tmpl, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "lab export: %v\n", err)
			return exitFailed
		}
		if *out != "-" {
			fmt.Fprintf(stdout, "Wrote the CloudFormation template for stack %s to %s.\n", s.Name, *out)
		}
	}
	return exitOK
}

// writeModule writes the module's files into dir, creating it.
func writeModule(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
