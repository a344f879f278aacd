// Command rate is bench/alb.sh's constant-rate load: it sends GET requests
// to one URL at a fixed rate over a fixed number of keep-alive HTTP/1.1
// connections and prints latency quantiles. It is open-loop, as wrk2 is
// (Debian has no wrk2): request k of a connection is due at start +
// k*conns/rate, and its latency counts from when it was due, so a proxy
// that falls behind is charged for the wait (no coordinated omission).
// Responses must carry Content-Length, as every subject of the bench does.
//
// Output, one line: requests achieved-rps p50-ms p99-ms errors.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "", "http://host:port/path (loopback)")
	rate := flag.Float64("rate", 1000, "requests per second, over all connections")
	conns := flag.Int("conns", 64, "keep-alive connections")
	dur := flag.Duration("duration", 10*time.Second, "how long to send")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		log.Fatalf("rate: -url %q: want http://host:port/path", *target)
	}
	req := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: lab-bench-rate\r\n\r\n")
	every := time.Duration(float64(time.Second) * float64(*conns) / *rate)
	start := time.Now().Add(50 * time.Millisecond)
	var (
		mu     sync.Mutex
		lats   []time.Duration
		errors int
		wg     sync.WaitGroup
	)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mine, bad := run(u.Host, req, start.Add(time.Duration(i)*every/time.Duration(*conns)), every, start.Add(*dur))
			mu.Lock()
			lats = append(lats, mine...)
			errors += bad
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	q := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))]) / 1e6
	}
	fmt.Printf("%d %.0f %.3f %.3f %d\n", len(lats), float64(len(lats))/elapsed.Seconds(), q(0.50), q(0.99), errors)
}

// run is one connection's schedule: a request every `every` from first
// until end; a broken connection is redialled and counted as an error.
func run(host string, req []byte, first time.Time, every time.Duration, end time.Time) (lats []time.Duration, errs int) {
	var c net.Conn
	var br *bufio.Reader
	for due := first; due.Before(end); due = due.Add(every) {
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", host); err != nil {
				errs++
				continue
			}
			br = bufio.NewReaderSize(c, 16<<10)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(req); err != nil || readResponse(br) != nil {
			errs++
			c.Close()
			c = nil
			continue
		}
		lats = append(lats, time.Since(due))
	}
	if c != nil {
		c.Close()
	}
	return lats, errs
}

var errStatus = fmt.Errorf("status not 2xx")

// readResponse reads one response with a Content-Length body.
func readResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || line[9] != '2' {
		return errStatus
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("no Content-Length")
	}
	_, err = br.Discard(length)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
