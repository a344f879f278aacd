// Command soak is `make soak` (bench/soak.sh): a steady rate against the
// built-in SimplyDone stack for a long time (an hour by default), to show
// that the lab's memory and goroutines stay bounded. It runs the lab in
// its own process, as `lab run` does, with a one-phase scenario at a
// steady rate, and records the process's resident memory, the Go heap in
// use (after a collection), goroutines and open files: before the run,
// after the load's first minutes (warm), every -every of wall time, at the
// load's end, and once the lab has closed.
//
// Output: a CSV of the samples (-csv), the heap's profiles at "before" and
// "end" (OUT/heap-before.pprof, OUT/heap-end.pprof: go tool pprof -top
// -diff_base heap-before.pprof heap-end.pprof shows what grew), and a
// table on standard output,
// ending in a verdict line:
//
//	soak OK: goroutines 190 -> 192 under load, 4 -> 4 after close; heap 21.3 -> 22.0 MiB; RSS 71 -> 80 MiB
//
// It exits 1 when goroutines or open files are left behind after the lab
// closed (more than before it started), or the run FAILs (an INVALID run,
// on a starved host, still shows its memory).
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simplydone/lab/lab"
	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/stack"
)

type sample struct {
	label      string
	wall       time.Duration // since the load started
	rss, heap  uint64
	goroutines int
	fds        int
}

func main() {
	dur := flag.Duration("duration", time.Hour, "wall time of steady load")
	rate := flag.Float64("rate", 50, "requests per wall second")
	speed := flag.Float64("speed", 10, "AWS seconds per wall second (10: an hour is ten AWS hours, past CloudWatch's 3 h of raw samples)")
	every := flag.Duration("every", time.Minute, "wall time between samples")
	warm := flag.Duration("warm", 2*time.Minute, "wall time of load before the 'before' sample")
	port := flag.Int("port", 18690, "the stack's listener and target port (the built-in 8080 would meet a lab a person runs)")
	driver := flag.String("driver", "process", "process or docker")
	out := flag.String("out", "bench/results/soak", "where the run directory goes")
	csvPath := flag.String("csv", "", "write the samples here as CSV (default OUT/soak.csv)")
	flag.Parse()
	if *csvPath == "" {
		*csvPath = *out + "/soak.csv"
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	st, err := builtinStack(*port)
	if err != nil {
		log.Fatal(err)
	}
	aws := time.Duration(float64(*dur) * *speed).Round(time.Minute)
	sc, err := scenarios.Parse("soak.yaml", fmt.Appendf(nil, `name: soak
description: a steady rate for a long time; memory and goroutines must stay bounded
stack: simplydone
speed: %g
seed: 11
load:
  phases:
    - {name: steady, duration: %s, rate: %g}
slos:
  - success_rate >= 99.9%%
  - lost_writes == 0
`, *speed, fmtDur(aws), *rate))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var (
		mu      sync.Mutex
		samples []sample
		started time.Time
	)
	take := func(label string) sample {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := sample{label: label, rss: rss(), heap: ms.HeapInuse, goroutines: runtime.NumGoroutine(), fds: fds()}
		mu.Lock()
		if !started.IsZero() {
			s.wall = time.Since(started)
		}
		samples = append(samples, s)
		mu.Unlock()
		fmt.Printf("%-10s %8s  rss %6.1f MiB  heap %6.1f MiB  goroutines %5d  fds %4d\n", label, s.wall.Round(time.Second), mib(s.rss), mib(s.heap), s.goroutines, s.fds)
		return s
	}
	base := take("baseline")

	loadStarted, loadEnding := make(chan struct{}), make(chan struct{})
	var once, endOnce sync.Once
	samplerCtx, stopSampler := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by main: stopped and waited for before the after-close sample
		defer wg.Done()
		select {
		case <-loadStarted:
		case <-samplerCtx.Done():
			return
		}
		warmT := time.NewTimer(*warm)
		defer warmT.Stop()
		select {
		case <-warmT.C:
			take("before")
			heapProfile(*out + "/heap-before.pprof")
		case <-samplerCtx.Done():
			return
		}
		tk := time.NewTicker(*every)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				take("load")
			case <-loadEnding:
				take("end")
				heapProfile(*out + "/heap-end.pprof")
				return
			case <-samplerCtx.Done():
				return
			}
		}
	}()
	var lastSecond int
	sum, err := lab.Run(ctx, lab.RunOptions{Scenario: sc, Stack: st, Driver: *driver, RunsDir: *out, Console: io.Discard,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnSecond: func(r lab.SecondRecord) {
			once.Do(func() {
				mu.Lock()
				started = time.Now()
				mu.Unlock()
				close(loadStarted)
			})
			lastSecond = r.Second
			if time.Duration(r.Second+3)*time.Second >= *dur { // the load's last seconds, before the lab closes
				endOnce.Do(func() { close(loadEnding) })
			}
		}})
	stopSampler()
	wg.Wait()
	if err != nil {
		log.Printf("soak: run: %v", err)
	}
	// Run has closed every part; a goroutine on its way out (a connection's
	// reader) gets ten seconds to finish before the count is taken.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if runtime.NumGoroutine() <= base.goroutines && fds() <= base.fds {
			break
		}
	}
	after := take("closed")
	if err := writeCSV(*csvPath, samples); err != nil {
		log.Printf("soak: %v", err)
	}

	before, end := find(samples, "before"), find(samples, "end")
	verdict := "?"
	if sum != nil {
		verdict = sum.Verdict
		fmt.Printf("\nrun %s: %s after %d load seconds, %d requests, success %.3f%%, p99 %.1f ms; run directory %s/%s\n",
			sum.RunID, sum.Verdict, lastSecond+1, sum.Requests, sum.SuccessRate, sum.Latency.P99, *out, sum.RunID)
	}
	line := fmt.Sprintf("goroutines %d -> %d under load, %d -> %d after close; heap %.1f -> %.1f MiB; RSS %.1f -> %.1f MiB; fds %d -> %d under load, %d -> %d after close",
		before.goroutines, end.goroutines, base.goroutines, after.goroutines, mib(before.heap), mib(end.heap), mib(before.rss), mib(end.rss),
		before.fds, end.fds, base.fds, after.fds)
	leaked := after.goroutines > base.goroutines || after.fds > base.fds
	switch {
	case leaked:
		fmt.Println("soak LEAK: " + line)
		os.Exit(1)
	case verdict == lab.Invalid:
		// the host starved the run or the load generator fell behind: the
		// latencies prove nothing, the memory figures still stand
		fmt.Printf("soak OK (the run itself was INVALID: %s): %s\n", sum.Reason, line)
		return
	case verdict != lab.Pass:
		fmt.Printf("soak run %s (%s): %s\n", verdict, sum.Reason, line)
		os.Exit(1)
	}
	fmt.Println("soak OK: " + line)
}

// builtinStack is the built-in simplydone stack on port instead of 8080.
func builtinStack(port int) (*stack.Stack, error) {
	s, err := stack.Builtin("simplydone")
	if err != nil {
		return nil, err
	}
	src := regexp.MustCompile(`port: 8080\b`).ReplaceAll(s.Source, fmt.Appendf(nil, "port: %d", port))
	return stack.Parse("simplydone-soak.yaml", src)
}

// heapProfile writes the heap's profile, for
// go tool pprof -top -diff_base heap-before.pprof heap-end.pprof.
func heapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Printf("soak: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		log.Printf("soak: heap profile: %v", err)
	}
}

func find(ss []sample, label string) sample {
	for i := len(ss) - 1; i >= 0; i-- {
		if ss[i].label == label {
			return ss[i]
		}
	}
	return sample{}
}

// rss is the process's resident set from /proc/self/status.
func rss() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func fds() int {
	es, _ := os.ReadDir("/proc/self/fd")
	return len(es)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func fmtDur(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

func writeCSV(path string, ss []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"sample", "wall_s", "rss_bytes", "heap_inuse_bytes", "goroutines", "fds"})
	for _, s := range ss {
		w.Write([]string{s.label, fmt.Sprintf("%.0f", s.wall.Seconds()), fmt.Sprint(s.rss), fmt.Sprint(s.heap), fmt.Sprint(s.goroutines), fmt.Sprint(s.fds)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
