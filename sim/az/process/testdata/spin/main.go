// Command spin is the runtimes' test workload (both build it): it serves 200 on
// LAB_ADDR:LAB_PORT, burns CPU when SPIN=1 and exits 3 after a moment when
// CRASH=1. With PROBE=addr it first tries to connect to addr and answers
// /probe with "reached" or "refused".
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"
)

func main() {
	if os.Getenv("CRASH") == "1" {
		time.AfterFunc(200*time.Millisecond, func() { os.Exit(3) })
	}
	if os.Getenv("SPIN") == "1" {
		for range runtime.NumCPU() {
			go func() {
				for x := 0; ; x++ {
					_ = x * x
				}
			}()
		}
	}
	probe := ""
	if a := os.Getenv("PROBE"); a != "" {
		probe = "refused"
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			probe = "reached"
		}
	}
	addr := net.JoinHostPort(os.Getenv("LAB_ADDR"), os.Getenv("LAB_PORT"))
	err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/probe" {
			fmt.Fprintf(w, "%s\n", probe)
			return
		}
		fmt.Fprintf(w, "%s\n", os.Getenv("LAB_INSTANCE_ID"))
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
