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
// still returned. The view takes over the run's Console (the lab's notes
// reach the log as events) and its Logger (its lines go to the log as
// notes), so that nothing writes over it.
func Run(ctx context.Context, opts lab.RunOptions, out io.Writer) (*lab.Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	agg := NewAggregator(opts.Scenario, opts.Stack, opts.Speed)
	agg.serve = true // lab watch attaches on RUN_DIR/live.sock
	agg.Hook(&opts)
	opts.Logger = slog.New(slog.NewTextHandler(&noteWriter{a: agg}, &slog.HandlerOptions{Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the log has AWS time already
			}
			return a
		}}))

	p := tea.NewProgram(New(Options{Renderer: NewRenderer(out), Stop: cancel,
		Kill:    func() { agg.KillRandom(ctx) },
		ZoneOut: func(zone string) { agg.ZoneOut(ctx, zone) }}),
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
	agg.closeServer()
	return r.sum, r.err
}

// Watch shows the run serving the live socket at path, read-only, on out (a
// terminal), until q, or until the run ends and q is pressed. The run goes
// on whatever the view does.
func Watch(ctx context.Context, path string, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := make(chan Snapshot, 1)
	errc := make(chan error, 1)
	var p *tea.Program
	ready := make(chan struct{})
	go func() {
		n := 0
		err := Follow(ctx, path, func(s Snapshot) {
			if n++; n == 1 {
				first <- s
				<-ready
			}
			p.Send(s)
		})
		if n == 0 {
			errc <- err
			return
		}
		if err != nil && ctx.Err() == nil {
			p.Send(Gone{Err: err})
		}
	}()
	select {
	case <-first:
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	m := New(Options{Renderer: NewRenderer(out), Watch: true})
	p = tea.NewProgram(m, tea.WithAltScreen(), tea.WithOutput(out), tea.WithFPS(20), tea.WithContext(ctx))
	close(ready)
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
		return nil
	}
	return err
}
