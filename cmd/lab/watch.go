package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/simplydone/lab/tui"
)

// watchCmd is `lab watch [RUN_DIR]`: the live view of a run going on in
// another terminal, read-only, through RUN_DIR/live.sock. Without RUN_DIR
// it attaches to the newest run under --runs whose socket answers. When
// stdout is not a terminal it prints the run's events as lines instead,
// until the run ends.
func watchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.String("runs", "runs", "where run directories are, to find the newest running one")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "usage: lab watch [RUN_DIR] [--runs DIR]")
		return exitUsage
	}
	dir := fs.Arg(0)
	if dir == "" {
		var err error
		if dir, err = tui.NewestLive(*runs); err != nil {
			fmt.Fprintf(stderr, "lab watch: %v\n", err)
			return exitFailed
		}
	}
	sock := filepath.Join(dir, tui.SocketName)
	if _, err := os.Stat(sock); err != nil {
		fmt.Fprintf(stderr, "lab watch: %s is not running (no %s): %v\n", dir, tui.SocketName, err)
		return exitFailed
	}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(f.Fd()) {
		if err := tui.Watch(ctx, sock, f); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "lab watch: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	return watchLines(ctx, sock, stdout, stderr)
}

// watchLines prints the run's events as `lab run --no-tui` would, then its verdict.
func watchLines(ctx context.Context, sock string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "Watching %s (read-only)\n", filepath.Dir(sock))
	var last tui.Snapshot
	err := tui.Follow(ctx, sock, func(s tui.Snapshot) {
		for _, e := range s.Events {
			fmt.Fprintf(stdout, "%s  %s\n", plusTime(e.At), e.Text)
		}
		last = s
	})
	switch {
	case last.Done:
		fmt.Fprintf(stdout, "The run has ended: %s %s\n", last.Verdict, last.Reason)
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitOK
	}
	fmt.Fprintf(stderr, "lab watch: %v\n", err)
	return exitFailed
}

func plusTime(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("+%02d:%02d", s/60, s%60)
}
