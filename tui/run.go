package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/simplydone/lab/lab"
)

// Every is how often the aggregator sends the view a snapshot.
const Every = 300 * time.Millisecond

// Run runs lab.Run with the live view on out (a terminal) and returns what
// lab.Run returned. q or Ctrl-C stops the run: its context is cancelled, so
// lab.Run reverts every fault and takes the tier down, and the summary is
// still returned. The view takes over the run's Console and Logger (their
// lines go to the event log) so that nothing writes over it.
func Run(ctx context.Context, opts lab.RunOptions, out io.Writer) (*lab.Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	agg := NewAggregator(opts.Scenario, opts.Stack, opts.Speed)
	agg.Hook(&opts)
	opts.Logger = slog.New(slog.NewTextHandler(&noteWriter{a: agg}, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the log has AWS time already
			}
			return a
		}}))

	p := tea.NewProgram(New(Options{Renderer: NewRenderer(out), Stop: cancel}),
		tea.WithAltScreen(), tea.WithOutput(out), tea.WithFPS(20))

	type result struct {
		sum *lab.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := lab.Run(ctx, opts)
		agg.Finish(sum, err)
		done <- result{sum, err}
	}()
	aggCtx, stopAgg := context.WithCancel(context.Background())
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		agg.Run(aggCtx, Every, func(s Snapshot) { p.Send(s) })
	}()

	_, perr := p.Run()
	stopAgg()
	<-aggDone
	var r result
	select {
	case r = <-done:
	default:
		if perr != nil && !errors.Is(perr, tea.ErrInterrupted) {
			fmt.Fprintf(out, "lab: the live view failed: %v\n", perr)
		}
		fmt.Fprintln(out, "Stopping the run: reverting faults and terminating instances...")
		cancel()
		r = <-done
	}
	return r.sum, r.err
}
