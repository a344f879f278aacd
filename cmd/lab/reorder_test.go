package main

import (
	"flag"
	"slices"
	"testing"
)

// TestReorderKnowsBoolFlags: a boolean flag takes no separate value, so the
// argument after it stays positional (lab run flash-sale --no-tui --out X).
func TestReorderKnowsBoolFlags(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	noTUI := fs.Bool("no-tui", false, "")
	out := fs.String("out", "", "")
	speed := fs.Float64("speed", 0, "")
	for _, args := range [][]string{
		{"flash-sale", "--no-tui", "--out", "runs", "--speed", "20"},
		{"--no-tui", "flash-sale", "--out=runs", "--speed", "20"},
		{"--speed", "20", "--no-tui", "--out", "runs", "flash-sale"},
	} {
		*noTUI, *out, *speed = false, "", 0
		if err := fs.Parse(reorder(fs, args)); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !*noTUI || *out != "runs" || *speed != 20 || !slices.Equal(fs.Args(), []string{"flash-sale"}) {
			t.Errorf("%q: no-tui %v out %q speed %v args %q", args, *noTUI, *out, *speed, fs.Args())
		}
	}
}
