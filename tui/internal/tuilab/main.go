// Command tuilab runs a scenario with the live view, exactly as `lab run`
// does when stdout is a terminal (it calls the same tui.Run that
// cmd/lab's runWithTUI does); the TUI's end-to-end test drives it in tmux.
//
//	tuilab SCENARIO-FILE OUT-DIR
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/tui"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tuilab SCENARIO-FILE OUT-DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc, err := scenarios.Resolve(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	st, err := sc.ResolveStack()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sum, err := tui.Run(ctx, lab.RunOptions{Scenario: sc, Stack: st, RunsDir: os.Args[2]}, os.Stdout)
	if sum == nil {
		fmt.Fprintf(os.Stderr, "tuilab: %v\n", err)
		os.Exit(1)
	}
	sum.WriteText(os.Stdout)
	fmt.Printf("\nEvidence: %s/%s\n", os.Args[2], sum.RunID)
	if sum.Verdict == lab.Interrupted {
		os.Exit(130)
	}
}
