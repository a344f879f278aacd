package scenarios

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// FuzzParse feeds any bytes to the scenario parser, as a file in a
// directory of its own. It must not panic; what it accepts keeps the bounds
// the lab relies on, and every problem is one of *yamlcheck.Errors.
func FuzzParse(f *testing.F) {
	for _, name := range BuiltinNames() {
		b, err := os.ReadFile(filepath.Join("builtin", name+".yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(top + phases + slos))
	f.Add([]byte("name: s\nstack: ../../etc/passwd\n" + phases + slos))
	f.Add([]byte("name: s\nstack: /etc/shadow\n" + phases + slos))
	f.Add([]byte(top + "load:\n  phases:\n    - &p {name: a, duration: 1m, rate: 20}\n    - *p\n" + slos))
	file := filepath.Join(f.TempDir(), "s.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(data)()
		s, err := Parse(file, data)
		if err != nil {
			var errs *yamlcheck.Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %v (%T) is not a list of problems", err, err)
			}
			return
		}
		if d := s.TotalDuration(); d <= 0 || d > MaxDuration {
			t.Fatalf("accepted a load of %s", d)
		}
		if s.Speed < MinSpeed || s.Speed > MaxSpeed || math.IsNaN(s.Speed) {
			t.Fatalf("accepted speed %v", s.Speed)
		}
		if msg := s.stackOutside(); msg != "" && !isBuiltinStack(s.Stack) {
			t.Fatalf("accepted stack %q: %s", s.Stack, msg)
		}
		for _, slo := range append(s.SLOs, s.StopConditions...) {
			if math.IsNaN(slo.Threshold) || math.IsInf(slo.Threshold, 0) {
				t.Fatalf("accepted SLO %q with threshold %v", slo.Expr, slo.Threshold)
			}
		}
	})
}

// FuzzParseSLO feeds any text to the SLO parser: it must not panic, and an
// expression it accepts names a metric, a valid operator and a finite
// threshold, and reads the same again from its own text.
func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{"p99 <= 500ms", "success_rate >= 99.5%", "lost_writes == 0", "error_rate > 50%",
		"max_latency < 2s", "requests >= 1e3", "p50 <= .5s", "p99 <=", "=> 3", "p99 <= 1e400ms", "scale_out_activities <= -0"} {
		f.Add(s)
	}
	metrics := map[string]bool{}
	for _, m := range Metrics() {
		metrics[m] = true
	}
	f.Fuzz(func(t *testing.T, expr string) {
		slo, err := ParseSLO(expr)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if !metrics[slo.Metric] || !slo.Op.Valid() || math.IsNaN(slo.Threshold) || math.IsInf(slo.Threshold, 0) {
			t.Fatalf("accepted %q as %+v", expr, slo)
		}
		again, err := ParseSLO(slo.Expr)
		if err != nil || again != slo {
			t.Fatalf("%q reads back as %+v, %v; first %+v", slo.Expr, again, err, slo)
		}
	})
}

func isBuiltinStack(name string) bool { return slices.Contains(stack.BuiltinNames(), name) }

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
