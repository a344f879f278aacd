package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/simplydone/lab/report"
)

// reportCmd is `lab report RUN_DIR`: it (re)writes RUN_DIR/report.html from
// the files the run left.
func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: lab report RUN_DIR")
		return exitUsage
	}
	dir := fs.Arg(0)
	if err := report.WriteRunReport(dir); err != nil {
		fmt.Fprintf(stderr, "lab report: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "Report: %s\n", filepath.Join(dir, report.ReportFile))
	return exitOK
}

// compareCmd is `lab compare RUN_A RUN_B [-o FILE]`: it writes a comparison
// page (compare.html by default) and prints the comparison as a table.
func compareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "compare.html", "where to write the comparison page")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return exitUsage
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: lab compare RUN_A RUN_B [-o FILE]")
		return exitUsage
	}
	c, err := report.WriteCompare(fs.Arg(0), fs.Arg(1), *out)
	if err != nil {
		fmt.Fprintf(stderr, "lab compare: %v\n", err)
		return exitFailed
	}
	c.WriteText(stdout)
	fmt.Fprintf(stdout, "\nComparison: %s\n", *out)
	return exitOK
}
