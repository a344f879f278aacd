// Command loadcost measures what the lab's load generator costs on its own:
// the CPU of this process per request sent, at a constant rate, straight to
// one SimplyDone instance (no load balancer, no instance CPU cost). It is
// bench/flashsale.sh's peer for the lab's own cost: a lab run's process is
// this load generator plus the load balancer's nodes and the rest.
//
// Three subjects, each once a round, the order rotated, ROUNDS rounds:
//
//   - lab-load: the lab's load package (load.Run: vegeta under the lab's
//     pacer, client, mix and result checks), the cost run's mix;
//   - vegeta: a plain vegeta attack (vegeta's own default client and
//     constant pacer) of the same requests (the lab's targeter, the same
//     mix), its results added to vegeta.Metrics as `vegeta attack | vegeta
//     report` does: the floor any vegeta-based generator of this traffic
//     pays here. What lab-load costs above it is the lab's own part: its
//     pacer, client and the checks of every result;
//   - floor: the least any client of this traffic pays here, with no load
//     tool at all: one goroutine and one keep-alive connection, each of the
//     same requests written when it is due (a sleep to its time), its
//     answer read before the next (net/http's request writer and response
//     reader). It is what one wake-up, one write and one read per request
//     cost on this host.
//
// -procs N sets GOMAXPROCS for every subject (0: the runtime's default),
// to compare them on as many cores as the lab's process runs on
// (internal/procs).
//
// Output: one line per subject and round, then each subject's medians:
//
//	subject rate achieved requests cpu-us/req lag-p99-ms
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/simplydone/lab/internal/procs"
	"github.com/simplydone/lab/load"
)

func main() {
	labBin := flag.String("lab", "bin/lab", "the lab binary (it serves SimplyDone: lab simplydone)")
	rate := flag.Float64("rate", 2000, "requests per second")
	dur := flag.Duration("duration", 20*time.Second, "how long each measurement sends")
	warm := flag.Duration("warmup", 2*time.Second, "a warm-up at the same rate before each measurement")
	rounds := flag.Int("rounds", 3, "rounds (each subject once a round)")
	port := flag.Int("port", 18190, "the instance's port on 127.0.0.1")
	only := flag.String("only", "", "measure this subject alone (lab-load, vegeta or floor)")
	procs := flag.Int("procs", 0, "GOMAXPROCS for every subject (0: the runtime's default)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the measurements (not the warm-ups) to this file")
	flag.Parse()
	log.SetFlags(0)

	base := "http://127.0.0.1:" + strconv.Itoa(*port)
	stop, err := startInstance(*labBin, *port)
	if err != nil {
		log.Fatalf("loadcost: %v", err)
	}
	defer stop()

	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	subjects := []string{"lab-load", "vegeta", "floor"}
	if *only != "" {
		subjects = []string{*only}
	}
	var prof *os.File
	if *profile != "" {
		if prof, err = os.Create(*profile); err != nil {
			log.Fatalf("loadcost: %v", err)
		}
		defer prof.Close()
	}
	per := map[string][]row{}
	for r := range *rounds {
		k := r % len(subjects)
		for _, s := range append(slices.Clone(subjects[k:]), subjects[:k]...) {
			if _, err := measure(s, base, *rate, *warm); err != nil { // warm-up, not counted
				log.Fatalf("loadcost: %s warm-up: %v", s, err)
			}
			if prof != nil {
				if err := pprof.StartCPUProfile(prof); err != nil {
					log.Fatalf("loadcost: %v", err)
				}
			}
			x, err := measure(s, base, *rate, *dur)
			if prof != nil {
				pprof.StopCPUProfile()
				prof = nil // one measurement's profile
			}
			if err != nil {
				log.Fatalf("loadcost: %s: %v", s, err)
			}
			per[s] = append(per[s], x)
			fmt.Printf("%-9s %6.0f %9.1f %8d %10.1f %10.3f  round %d\n", s, *rate, x.achieved, x.requests, x.us, x.lagP99, r+1)
		}
	}
	fmt.Printf("medians of %d rounds:\n", *rounds)
	for _, s := range subjects {
		rs := per[s]
		fmt.Printf("%-9s %6.0f %9.1f %8.0f %10.1f %10.3f\n", s, *rate,
			median(rs, func(x row) float64 { return x.achieved }), median(rs, func(x row) float64 { return float64(x.requests) }),
			median(rs, func(x row) float64 { return x.us }), median(rs, func(x row) float64 { return x.lagP99 }))
	}
}

type row struct {
	requests     int
	achieved, us float64
	lagP99       float64 // ms
}

// mix is bench/flashsale.sh's cost runs' mix, for both subjects.
var mix = load.Mix{List: 50, Create: 20, Get: 20, Done: 10}

// measure sends at rate for d with subject's generator and returns what
// this process spent per request.
func measure(subject, base string, rate float64, d time.Duration) (row, error) {
	c0 := cpu()
	var x row
	switch subject {
	case "lab-load":
		res, err := load.Run(context.Background(), load.Config{
			Targets: []string{base},
			Phases:  []load.Phase{{Name: "steady", Duration: d, From: rate, To: rate}},
			Mix:     mix,
			Seed:    1,
		})
		if err != nil {
			return row{}, err
		}
		x = row{requests: res.Requests, achieved: res.AchievedRate, lagP99: ms(res.LagP99)}
		if res.OK2xx+res.Err4xx < res.Requests*99/100 {
			return row{}, fmt.Errorf("only %d of %d requests answered (5xx %d, transport %d)", res.OK2xx+res.Err4xx, res.Requests, res.Err5xx, res.Transport)
		}
	case "vegeta":
		atk := vegeta.NewAttacker()
		targets, err := load.NewTargeter([]string{base}, mix, rand.New(rand.NewPCG(1, 2)), "loadcost-")
		if err != nil {
			return row{}, err
		}
		tr := vegeta.Targeter(targets.Next)
		var m vegeta.Metrics
		lags := make([]time.Duration, 0, int(rate*d.Seconds())+1)
		start := time.Now()
		for r := range atk.Attack(tr, vegeta.ConstantPacer{Freq: int(rate), Per: time.Second}, d, "loadcost") {
			m.Add(r)
			lags = append(lags, r.Timestamp.Sub(start)-time.Duration(float64(r.Seq)/rate*float64(time.Second)))
		}
		m.Close()
		answered := 0 // 2xx and 4xx: a get or done of an id not created yet answers 404, as in a lab run
		for code, n := range m.StatusCodes {
			if code[0] == '2' || code[0] == '4' {
				answered += n
			}
		}
		if uint64(answered) < m.Requests*99/100 {
			return row{}, fmt.Errorf("only %d of %d requests answered: %v %v", answered, m.Requests, m.StatusCodes, m.Errors)
		}
		slices.Sort(lags)
		x = row{requests: int(m.Requests), achieved: m.Rate}
		if len(lags) > 0 {
			x.lagP99 = ms(lags[len(lags)*99/100])
		}
	case "floor":
		n, lags, err := floor(base, rate, d)
		if err != nil {
			return row{}, err
		}
		x = row{requests: n, achieved: float64(n) / d.Seconds()}
		if len(lags) > 0 {
			slices.Sort(lags)
			x.lagP99 = ms(lags[len(lags)*99/100])
		}
	default:
		return row{}, fmt.Errorf("no subject %q", subject)
	}
	if x.requests > 0 {
		x.us = float64(cpu()-c0) / float64(x.requests) / 1e3
	}
	return x, nil
}

// floor sends the mix's requests at rate for d on one keep-alive
// connection from this goroutine alone, each when it is due, reading each
// answer before the next; it returns the requests answered and each one's
// lag behind its schedule.
func floor(base string, rate float64, d time.Duration) (int, []time.Duration, error) {
	targets, err := load.NewTargeter([]string{base}, mix, rand.New(rand.NewPCG(1, 2)), "loadcost-")
	if err != nil {
		return 0, nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return 0, nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	bw, br := bufio.NewWriter(conn), bufio.NewReader(conn)
	every := time.Duration(float64(time.Second) / rate)
	lags := make([]time.Duration, 0, int(rate*d.Seconds())+1)
	start := time.Now()
	var tgt vegeta.Target
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * every)
		if due.Sub(start) >= d {
			return n, lags, nil
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		lags = append(lags, time.Since(due))
		if err := targets.Next(&tgt); err != nil {
			return n, lags, err
		}
		req, err := tgt.Request()
		if err != nil {
			return n, lags, err
		}
		if err := req.Write(bw); err != nil {
			return n, lags, err
		}
		if err := bw.Flush(); err != nil {
			return n, lags, err
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return n, lags, fmt.Errorf("request %d: %w", n+1, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, lags, err
		}
		if resp.StatusCode >= 500 {
			return n, lags, fmt.Errorf("request %d: %s", n+1, resp.Status)
		}
	}
}

// startInstance runs SimplyDone with no CPU cost on 127.0.0.1:port, its
// store in a directory of its own, and waits until it answers /health.
func startInstance(labBin string, port int) (stop func(), err error) {
	data, err := os.MkdirTemp("", "loadcost-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(labBin, "simplydone", "-addr", "127.0.0.1", "-port", strconv.Itoa(port), "-data-dir", data)
	cmd.Env = append(os.Environ(), "SIMPLYDONE_CPU_COST=0s")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, fmt.Errorf("starting %s simplydone: %w", labBin, err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		os.RemoveAll(data)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, errors.New("SimplyDone did not answer /health within 10 s")
}

// cpu is this process's user+system CPU so far.
func cpu() time.Duration {
	c, _ := procs.ProcessCPU()
	return c
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(rs []row, f func(row) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
