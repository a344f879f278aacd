// Command scrape is bench/alb.sh's metrics scraper: it GETs one URL every
// interval over one keep-alive connection and discards the body, as a
// Prometheus server scrapes a target. It replaces a shell loop that
// started curl once a second: each curl process cost the scraper's core
// about 7 ms of CPU to start, on the core the load client and the
// backends share, which the loop's p99 was charged for.
//
// It runs until it is signalled (SIGTERM or SIGINT) and prints, on exit,
// how many scrapes it made and how many failed.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	target := flag.String("url", "", "the metrics URL (loopback)")
	every := flag.Duration("every", time.Second, "time between scrapes")
	flag.Parse()
	if *target == "" {
		log.Fatal("scrape: -url is required")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	client := &http.Client{Timeout: 10 * time.Second} // keep-alive: one connection, reused
	tk := time.NewTicker(*every)
	defer tk.Stop()
	scrapes, failed := 0, 0
	for {
		scrapes++
		if err := scrape(client, *target); err != nil {
			failed++
			log.Printf("scrape: %v", err)
		}
		select {
		case <-stop:
			fmt.Printf("%d scrapes, %d failed\n", scrapes, failed)
			return
		case <-tk.C:
		}
	}
}

func scrape(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
