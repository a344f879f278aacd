package stack

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/yamlcheck"
)

// FuzzParse feeds any bytes to the stack parser. It must not panic or take
// long on anything; a stack it accepts keeps the bounds the lab relies on
// (min <= desired <= max <= MaxInstances, at least two zones), and every
// problem it reports is one of *Errors, named by the file.
func FuzzParse(f *testing.F) {
	for _, name := range BuiltinNames() {
		b, err := os.ReadFile("builtin/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(head + group))
	f.Add([]byte(aliasBomb()[:2000]))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("- web\n"))
	f.Add([]byte(head + "auto_scaling_group: {min_size: 1, max_size: 9999999999999999999999}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(data)()
		s, err := Parse("f.yaml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %v (%T) is not a list of problems", err, err)
			}
			for _, e := range errs.List {
				if e.File != "f.yaml" || e.Line < 0 || e.Msg == "" {
					t.Fatalf("problem %+v does not name the file, a line and what is wrong", e)
				}
			}
			return
		}
		g := s.AutoScalingGroup
		if g.MinSize < 0 || g.MinSize > g.DesiredCapacity || g.DesiredCapacity > g.MaxSize || g.MaxSize > MaxInstances {
			t.Fatalf("accepted sizes min %d desired %d max %d", g.MinSize, g.DesiredCapacity, g.MaxSize)
		}
		if len(s.Zones) < 2 {
			t.Fatalf("accepted %d zone(s)", len(s.Zones))
		}
		if len(data) > yamlcheck.MaxFileSize {
			t.Fatalf("accepted %d bytes", len(data))
		}
	})
}

// watchdog panics, naming the input, if the parser has not returned within
// 5 s: the fuzzer has no timeout of its own per input, and a parser that
// hangs would only stall it.
func watchdog(data []byte) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			panic(fmt.Sprintf("the parser did not return within 5s on %q", data))
		}
	}()
	return func() { close(done) }
}
