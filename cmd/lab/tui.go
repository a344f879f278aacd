package main

import (
	"context"
	"io"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/tui"
)

// runWithTUI runs lab.Run with the live view on stdout, which must be a
// terminal. q or Ctrl-C stops the run (faults are reverted, instances
// terminated); the summary is returned either way, for the caller to print
// once the view has closed.
func runWithTUI(ctx context.Context, opts lab.RunOptions, stdout io.Writer) (*lab.Summary, error) {
	return tui.Run(ctx, opts, stdout)
}
